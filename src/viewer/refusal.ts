// The viewer's refusals: 401 (not signed in), 403 (signed in, wrong role or
// bad CSRF token), 404 (no such page, and also a session the viewer may not
// see, so that nobody learns whether it exists), and 500 for the rest. Rendered as a page, or as
// `{error, message}` on the API and the cast route.

export type RefusalStatus = 400 | 401 | 403 | 404 | 500;

const TITLES: Readonly<Record<RefusalStatus, string>> = {
  400: "Bad request",
  401: "Sign-in required",
  403: "Forbidden",
  404: "Not found",
  500: "Server error",
};

export class ViewerRefusal extends Error {
  constructor(
    readonly status: RefusalStatus,
    message: string,
  ) {
    super(message);
    this.name = "ViewerRefusal";
  }

  get title(): string {
    return TITLES[this.status];
  }
}

export const notSignedIn = () => new ViewerRefusal(401, "Sign in to see this page.");
export const notFound = () => new ViewerRefusal(404, "There is nothing to see here.");
export const forbidden = (message: string) => new ViewerRefusal(403, message);
