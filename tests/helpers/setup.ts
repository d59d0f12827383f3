// Runs before every test file (both projects): a known keyring instead of configuration or a key file.
import { K1, installKeyring } from "./keyring";

installKeyring(K1);
