import crypto from "node:crypto";

/** This process's identity in lease rows and refresh-journal file names: `<pid>-<random>`. */
export const PROCESS_ID = `${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
