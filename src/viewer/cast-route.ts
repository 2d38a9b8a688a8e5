// `GET /sessions/:id/recordings/:recording.cast`: a recording's asciicast
// file, for the player, after the same access check as the session page. A
// closed recording is streamed, gzip-compressed when the browser accepts it
// (casts are JSON lines: ~10x smaller), with its signed digest as ETag; an
// open one (a live session) is cut after its last complete line and never
// cached.

import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createGzip, constants as zlib } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { RecordingRow } from "../store/index.js";
import { recordingOf, visibleSession } from "./access.js";
import type { ViewerDependencies } from "./context.js";
import { notFound } from "./refusal.js";

const CAST_TYPE = "application/x-asciicast";
/** Smaller files go as they are: compressing them saves less than it costs. */
const COMPRESS_FROM_BYTES = 64 * 1024;

export function castUrl(sessionId: string, recordingId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}/recordings/${encodeURIComponent(recordingId)}.cast`;
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers["accept-encoding"];
  return typeof header === "string" && /\bgzip\b/.test(header);
}

async function sendOpenRecording(path: string, reply: FastifyReply): Promise<FastifyReply> {
  const text = await readFile(path);
  const end = text.lastIndexOf(0x0a) + 1;
  return reply.header("cache-control", "no-store").type(CAST_TYPE).send(text.subarray(0, end));
}

function sendClosedRecording(
  path: string,
  row: RecordingRow,
  request: FastifyRequest,
  reply: FastifyReply,
  cacheControl: string,
): FastifyReply {
  const etag = `"${row.sha256 ?? row.id}"`;
  reply.header("cache-control", cacheControl).header("etag", etag).type(CAST_TYPE);
  reply.header("vary", "accept-encoding");
  if (request.headers["if-none-match"] === etag) return reply.status(304).send();
  const file = createReadStream(path);
  if ((row.bytes ?? 0) >= COMPRESS_FROM_BYTES && acceptsGzip(request)) {
    reply.header("content-encoding", "gzip");
    return reply.send(file.pipe(createGzip({ level: zlib.Z_BEST_SPEED })));
  }
  if (row.bytes !== undefined) reply.header("content-length", row.bytes);
  return reply.send(file);
}

/**
 * Sends the recording's file (404 when pruned or missing); a closed one with
 * `cacheControl` (share links: `no-store`, so a revoked link leaves no copy).
 */
export async function sendRecording(
  deps: ViewerDependencies,
  row: RecordingRow,
  request: FastifyRequest,
  reply: FastifyReply,
  cacheControl = "private, max-age=3600",
): Promise<FastifyReply> {
  if (row.prunedAt !== undefined) throw notFound();
  const path = deps.recordings.store.absolutePath(row.relativePath);
  try {
    await stat(path); // a missing file is a 404 before anything is sent
    return row.status === "open"
      ? await sendOpenRecording(path, reply)
      : sendClosedRecording(path, row, request, reply, cacheControl);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notFound();
    throw error;
  }
}

export function registerCastRoute(app: FastifyInstance, deps: ViewerDependencies): void {
  app.get<{ Params: { id: string; file: string } }>(
    "/sessions/:id/recordings/:file",
    async (request, reply) => {
      const { session } = visibleSession(deps, request, request.params.id);
      const { file } = request.params;
      if (!file.endsWith(".cast")) throw notFound();
      return sendRecording(
        deps,
        recordingOf(session, file.slice(0, -".cast".length)),
        request,
        reply,
      );
    },
  );
}
