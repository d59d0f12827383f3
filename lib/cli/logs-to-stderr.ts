// Imported first by the CLI: its logs go to stderr so stdout carries only results (a key, a password).
import pino from "pino";
import { createLogger } from "@/lib/logger";

(globalThis as unknown as { __consentryLogger?: pino.Logger }).__consentryLogger = createLogger(pino.destination(2));
