// The end of a connection's refresh, announced to every instance through Redis pub/sub (when it is
// configured, lib/redis/pubsub.ts), so that a caller waiting for another instance's refresh hears of
// it at once instead of finding out by polling. The lease still decides who refreshes; a missed
// message only costs the waiter its poll interval.
import { redisKey } from "@/lib/redis/client";
import { publish, subscribe } from "@/lib/redis/pubsub";

const channelOf = (connectionId: string) => redisKey("refreshed", connectionId);

/** Tells waiters everywhere that a refresh of `connectionId` has ended (committed, failed or let go of its lease). */
export function announceRefreshEnded(connectionId: string): void {
  publish(channelOf(connectionId), "1");
}

export type RefreshListener = {
  /** resolves when a refresh of the connection has ended since the last wait, or after `ms` */
  wait(ms: number): Promise<void>;
  close(): void;
};

/**
 * Listens for the end of `connectionId`'s refreshes, from the moment this resolves: null without
 * Redis or while it is not reachable (the caller polls). Close it when done.
 */
export async function listenForRefresh(connectionId: string): Promise<RefreshListener | null> {
  let heard = false;
  let wake: (() => void) | null = null;
  const close = await subscribe(channelOf(connectionId), () => {
    heard = true;
    wake?.();
  });
  if (!close) return null;
  return {
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          heard = false;
          wake = null;
          resolve();
        };
        const t = setTimeout(done, heard ? 0 : ms);
        wake = done;
      }),
    close,
  };
}
