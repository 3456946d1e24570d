import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The dashboard is served by the binary at /_/; assets get content hashes
// so the server can cache them for a year. The server replaces the nonce
// placeholder in index.html with a fresh nonce per response, the one its
// Content-Security-Policy allows (apis/dashboard.go).
export default defineConfig({
  base: "/_/",
  plugins: [svelte()],
  html: { cspNonce: "HG_CSP_NONCE" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
  },
  server: {
    // `npm run dev` proxies the API to a server started with
    // `go run ./cmd/hatchgrid serve` (or the one HG_DEV_API names).
    proxy: { "/api": process.env.HG_DEV_API || "http://127.0.0.1:8090" },
  },
});
