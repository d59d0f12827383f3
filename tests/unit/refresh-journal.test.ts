// The refresh journal's file: what counts as outstanding after a crash, and group commit on disk.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RefreshJournal, outstandingCommits } from "@/lib/tokens/refresh-journal";
import type { RefreshCommit } from "@/lib/tokens/commit-refresh";

const commit = (connectionId: string): RefreshCommit => ({
  organizationId: "org",
  connectionId,
  readVersion: 3,
  owner: "123-abc",
  tokens: { accessTokenEnc: "enc1.k1.a.b", refreshTokenEnc: "enc1.k1.c.d", idTokenEnc: null, tokenType: "Bearer" },
  state: {
    expiresAt: "2026-12-04T18:00:00.000Z",
    refreshTokenExpiresAt: null,
    lastRefreshedAt: "2026-12-04T17:00:00.000Z",
    nextRefreshAt: null,
    scopes: null,
    clearExpiryWarning: false,
  },
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "journal-"));
  dirs.push(d);
  return d;
};

describe("outstandingCommits", () => {
  it("entries without a done line are outstanding; done lines, blank lines and a line torn by a crash are not", () => {
    const text = [
      JSON.stringify({ t: "c", seq: 1, commit: commit("a") }),
      JSON.stringify({ t: "c", seq: 2, commit: commit("b") }),
      JSON.stringify({ t: "d", seq: 1 }),
      "",
      JSON.stringify({ t: "c", seq: 3, commit: commit("c") }),
      JSON.stringify({ t: "c", seq: 4, commit: commit("d") }).slice(0, 40),
    ].join("\n");
    expect(outstandingCommits(text).map((c) => c.connectionId)).toEqual(["b", "c"]);
  });
});

describe("RefreshJournal", () => {
  it("appends survive on disk once append resolves; done entries drop out; nothing outstanding leaves no file", async () => {
    const file = path.join(tmp(), "db", "1-aa.jsonl");
    const j = new RefreshJournal(file);
    // concurrent appends are written together (group commit) and each resolves once on disk
    const seqs = await Promise.all(["a", "b", "c"].map((id) => j.append(commit(id))));
    expect(new Set(seqs).size).toBe(3);
    expect(
      outstandingCommits(fs.readFileSync(file, "utf8"))
        .map((c) => c.connectionId)
        .sort(),
    ).toEqual(["a", "b", "c"]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    j.done(seqs[0]!);
    j.done(seqs[2]!);
    expect(j.outstanding).toBe(1);
    await j.append(commit("d"));
    expect(
      outstandingCommits(fs.readFileSync(file, "utf8"))
        .map((c) => c.connectionId)
        .sort(),
    ).toEqual(["b", "d"]);
    await j.close();
    expect(fs.existsSync(file)).toBe(true); // two are outstanding: the file stays for the next start
    const k = new RefreshJournal(file.replace("1-aa", "2-bb"));
    k.done(await k.append(commit("e")));
    await k.close();
    expect(fs.existsSync(file.replace("1-aa", "2-bb"))).toBe(false);
  });
});
