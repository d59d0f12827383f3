// Token columns are encrypted and decrypted only here (and by key rotation).
import { decryptSecret, encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";

type Field = "accessTokenEnc" | "refreshTokenEnc" | "idTokenEnc";
type Owner = { organizationId: string; connectionId: string };

export function sealToken(owner: Owner, field: Field, value: string): string {
  return encryptSecret(value, contextFor("TokenSet", { id: owner.connectionId, ...owner }, field));
}

export function openToken(owner: Owner, field: Field, value: string): string {
  return decryptSecret(value, contextFor("TokenSet", { id: owner.connectionId, ...owner }, field));
}
