// next-auth's own endpoints (sign-in callbacks, session, CSRF, sign-out).
import { handlers } from "@/lib/auth/auth";
import { withValidCallbackUrl } from "@/lib/auth/refuse-invalid-callback-url";

export const GET = withValidCallbackUrl(handlers.GET);
export const POST = withValidCallbackUrl(handlers.POST);
