// The hosted connect page looks and behaves like a consent link's: no account, no portal chrome, no Referer.
export { default, metadata } from "@/app/consent/layout";
