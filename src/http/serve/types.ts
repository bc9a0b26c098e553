/** A request handler in the Fetch API's shape (what Hono's `app.fetch` is). */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** An HTTP server of one runtime, serving a {@link FetchHandler}. */
export interface FetchServer {
  /** Bound port (the real one when 0 was asked). */
  readonly port: number;
  /** Stop listening and close open connections (streams were ended before). */
  close(): Promise<void>;
}
