/**
 * The chat on Deno: the page and the WebSocket endpoint on http://127.0.0.1:8080/ (`PORT` and
 * `HOST` to change). Ctrl-C closes every connection cleanly.
 *
 * Run: `deno task chat`
 *
 * @module
 */

import { serve } from "../../adapters/deno.ts";
import { main } from "./server.ts";

await main(serve, "Deno");
