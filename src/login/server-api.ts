// The Portcullis server as `portcullis login` sees it: `GET
// /.well-known/portcullis` (where the identity provider and the bastion
// are) and `POST /v1/certs` (ID token + public key → certificate). Answers
// are schema-checked; every failure is one line naming the server.

import { z } from "zod";
import { PortcullisError } from "../util/errors.js";
import { networkReason, printable } from "./messages.js";

const REQUEST_TIMEOUT_MS = 15_000;
const DISCOVERY_PATH = "/.well-known/portcullis";
const CERTS_PATH = "/v1/certs";

const DiscoverySchema = z.object({
  issuer: z.string().min(1),
  client_id: z.string().min(1),
  user_ca_public_keys: z.array(z.string()),
  ssh: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }),
  host_key: z.string().min(1),
  host_ca: z.string().nullable(),
});

const CertificateSchema = z.object({
  certificate: z.string().min(1),
  serial: z.string(),
  key_id: z.string(),
  principals: z.array(z.string()),
  groups: z.array(z.string()),
  valid_after: z.string(),
  valid_before: z.string(),
});

const RefusalSchema = z.object({ error: z.string(), message: z.string() });

export type ServerDiscovery = z.infer<typeof DiscoverySchema>;
export type IssuedCertificateResponse = z.infer<typeof CertificateSchema>;

export interface DiscoveryAnswer {
  readonly discovery: ServerDiscovery;
  /** The server's clock by its `Date` header, when it sent one. */
  readonly serverDate?: Date;
}

async function request(server: string, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${server}${path}`, {
      ...init,
      redirect: "error",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new PortcullisError(
      "ERR_LOGIN_SERVER_UNREACHABLE",
      `cannot reach the Portcullis server at ${server}: ${networkReason(error)}`,
    );
  }
}

async function jsonBody(response: Response, server: string, path: string): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw new PortcullisError(
      "ERR_LOGIN_SERVER",
      `${server}${path} answered ${response.status} without JSON: is this a Portcullis server?`,
    );
  }
}

function parsed<T>(schema: z.ZodType<T>, body: unknown, where: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") || "body";
  throw new PortcullisError(
    "ERR_LOGIN_SERVER",
    `${where} answered an unexpected document (${field}: ${issue?.message ?? "invalid"})`,
  );
}

export async function fetchDiscovery(server: string): Promise<DiscoveryAnswer> {
  const response = await request(server, DISCOVERY_PATH, {
    headers: { accept: "application/json" },
  });
  if (!response.ok) {
    throw new PortcullisError(
      "ERR_LOGIN_SERVER",
      `${server}${DISCOVERY_PATH} answered ${response.status}: is this a Portcullis server with login (http and oidc) configured?`,
    );
  }
  const body = await jsonBody(response, server, DISCOVERY_PATH);
  const discovery = parsed(DiscoverySchema, body, `${server}${DISCOVERY_PATH}`);
  const date = response.headers.get("date");
  const serverDate = date === null ? undefined : new Date(date);
  const valid = serverDate !== undefined && !Number.isNaN(serverDate.getTime());
  return valid ? { discovery, serverDate } : { discovery };
}

/** Exchanges the ID token and the public key for a certificate. */
export async function requestCertificate(
  server: string,
  token: string,
  publicKeyLine: string,
): Promise<IssuedCertificateResponse> {
  const response = await request(server, CERTS_PATH, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ token, public_key: publicKeyLine }),
  });
  const body = await jsonBody(response, server, CERTS_PATH);
  if (response.ok) return parsed(CertificateSchema, body, `${server}${CERTS_PATH}`);
  throw refusal(response, body);
}

function refusal(response: Response, body: unknown): PortcullisError {
  const known = RefusalSchema.safeParse(body);
  const { error, message } = known.success
    ? known.data
    : { error: "unknown", message: `status ${response.status}` };
  const retry = response.headers.get("retry-after");
  const hint = response.status === 429 && retry !== null ? ` (try again in ${retry} s)` : "";
  return new PortcullisError(
    "ERR_LOGIN_REFUSED",
    `the bastion refused the certificate: ${printable(message)} [${printable(error)}]${hint}`,
  );
}
