// next-auth's own endpoints (sign-in callbacks, session, CSRF, sign-out).
import { handlers } from "@/lib/auth/auth";

export const { GET, POST } = handlers;
