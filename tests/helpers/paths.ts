import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Scratch space for test databases and files (git-ignored). */
export const TMP_ROOT = path.join(REPO_ROOT, "tests", ".tmp");
