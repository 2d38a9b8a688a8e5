// The viewer's static files, served from this machine only (no CDN): our
// stylesheet and page script (src/viewer/assets) under /assets/, and
// asciinema-player's standalone bundle from its npm package under
// /assets/player/ (only the two files the pages use).

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

export const VIEWER_SCRIPT = "/assets/viewer.js";
export const PLAYER_SCRIPT = "/assets/player/asciinema-player.min.js";
export const PLAYER_STYLESHEET = "/assets/player/asciinema-player.css";

const HERE = dirname(fileURLToPath(import.meta.url));
/** src/viewer/assets, next to this file or (compiled, in dist/src/viewer) in the source tree. */
export const ASSETS_DIR =
  [resolve(HERE, "assets"), resolve(HERE, "../../../src/viewer/assets")].find((dir) =>
    existsSync(dir),
  ) ?? resolve(HERE, "assets");

function playerBundleDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("asciinema-player/dist/bundle/asciinema-player.min.js"));
}

const CACHE = { maxAge: "1h", cacheControl: true, etag: true, lastModified: true };

export async function registerStaticAssets(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: ASSETS_DIR,
    prefix: "/assets/",
    index: false,
    list: false,
    wildcard: false,
    ...CACHE,
  });
  await app.register(fastifyStatic, {
    root: playerBundleDir(),
    prefix: "/assets/player/",
    decorateReply: false,
    index: false,
    list: false,
    wildcard: false,
    allowedPath: (path) => ["/asciinema-player.min.js", "/asciinema-player.css"].includes(path),
    ...CACHE,
  });
}
