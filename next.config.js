// @ts-check
const createNextIntlPlugin = require("next-intl/plugin");

const withNextIntl = createNextIntlPlugin("./lib/i18n/request.ts");

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
  // no page of Consentry's may be framed (consent and connect pages above all: clickjacking)
  { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
];

/** @type {import('next').NextConfig} */
module.exports = withNextIntl({
  poweredByHeader: false,
  // Native and worker-thread packages stay outside the bundle.
  // prom-client too: one copy per process, whose registry lib/metrics shares with the portal child's own modules.
  serverExternalPackages: [
    "better-sqlite3",
    "@prisma/adapter-better-sqlite3",
    "@prisma/adapter-pg",
    "pg",
    "pino",
    "prom-client",
  ],
  async headers() {
    return [
      { source: "/:path*", headers: securityHeaders },
      // the browser script is loaded cross-origin by integrators' pages (with an SRI hash)
      ...["/connect.js", "/connect/index.js"].map((source) => ({
        source,
        headers: [
          { key: "Access-Control-Allow-Origin", value: "*" },
          { key: "Cache-Control", value: "public, max-age=300" },
        ],
      })),
    ];
  },
  // GET /connect.js: the browser script (public/connect/index.js, a typed package with index.d.ts)
  async rewrites() {
    return [{ source: "/connect.js", destination: "/connect/index.js" }];
  },
});
