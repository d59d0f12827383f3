// Auth.js's own log lines, as structured JSON through the app's logger. Its default writes a raw
// "[auth][error]" stack to the console, outside the JSON log (a wrong password printed a stack trace).
// A refused sign-in is an expected outcome (audited as auth.sign_in, failure): one info line, no stack.
// Debug metadata can hold tokens and is never logged.
import type { Logger } from "pino";
import { logger as appLogger } from "@/lib/logger";
import { redactTokenShapes } from "@/lib/oauth/redact";

const EXPECTED = new Set(["CredentialsSignin", "AccessDenied", "Verification", "MissingCSRF"]);

export function authLogger(log: Logger = appLogger) {
  return {
    error(error: Error) {
      const type = (error as { type?: unknown }).type;
      const kind = typeof type === "string" ? type : error.name;
      if (EXPECTED.has(kind)) return log.info({ authError: kind }, "sign-in refused");
      const cause = (error as { cause?: unknown }).cause;
      log.error(
        {
          authError: kind,
          err: {
            message: redactTokenShapes(error.message).slice(0, 500),
            ...(cause instanceof Error ? { cause: redactTokenShapes(cause.message).slice(0, 500) } : {}),
          },
        },
        "auth error",
      );
    },
    warn(code: string) {
      log.warn({ authWarning: code }, "auth warning");
    },
    debug(message: string) {
      log.debug({ auth: true }, redactTokenShapes(message).slice(0, 200));
    },
  };
}
