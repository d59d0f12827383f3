// Public pages a tenant admin sees: no account, no portal chrome, no Referer leaving the page.
import type { Metadata } from "next";
import { LocaleSwitcher } from "@/app/_components/preferences";

export const metadata: Metadata = { referrer: "no-referrer", robots: { index: false, follow: false } };

export default function ConsentLayout({ children }: { children: React.ReactNode }) {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 py-12">
      <div className="w-full max-w-lg">{children}</div>
      <div className="mt-8">
        <LocaleSwitcher />
      </div>
    </main>
  );
}
