// What a front end writes against the generated client: if this stops compiling, the
// OpenAPI document broke a promise (docs/api-conventions.md, "What the schema promises").
// Each `@ts-expect-error` line must NOT compile: it fails the check when the schema loosens.
// `api.ts` is generated from /openapi.json by tests/clients/test_typescript.py.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type ProblemCode = Schemas["Problem"]["code"];

/** Compiles only when `Actual` and `Expected` are the same type (not merely assignable). */
type Exactly<Actual, Expected> =
  (<T>() => T extends Actual ? 1 : 2) extends <T>() => T extends Expected ? 1 : 2
    ? true
    : false;
function assertType<Check extends true>(): Check | void {}

export async function tour(baseUrl: string, email: string, password: string): Promise<string> {
  const client = createClient<paths>({ baseUrl });

  // Sign in: the OAuth2 password form, form-encoded, never JSON.
  const signIn = await client.POST("/v1/auth/token", {
    body: { username: email, password, grant_type: "password" },
    bodySerializer: (form) =>
      new URLSearchParams({ username: form.username, password: form.password }),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (signIn.error) {
    const code: ProblemCode = signIn.error.code;
    if (code === "rate_limited") return `retry after ${signIn.response.headers.get("Retry-After")}`;
    return code;
  }
  assertType<Exactly<typeof signIn.data.token_type, "bearer">>();
  const accessToken: string = signIn.data.access_token;
  const expiresIn: number = signIn.data.expires_in;
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${accessToken}`);
      return request;
    },
  });

  // A search with filters and facets.
  const found = await client.GET("/v1/technologies", {
    params: {
      query: {
        q: "盾构 刀盘",
        field: ["advanced_manufacturing"],
        transfer_mode: ["license", "assignment"],
        trl_min: 6,
        price_max: "5000000.00",
        sort: "relevance",
        facets: "field,transfer_modes",
        highlight: true,
        limit: 20,
      },
    },
  });
  if (found.error) return found.error.code;
  const page = found.data;
  const total: number | null = page.total;
  const nextCursor: string | null = page.next_cursor;
  for (const [facet, counts] of Object.entries(page.facets ?? {})) {
    for (const { value, count } of counts) console.log(facet, value, count);
  }
  const first = page.items[0];
  if (!first) return `no technology (of ${total}; next ${nextCursor})`;
  assertType<Exactly<typeof first.transfer_modes, Schemas["TransferMode"][]>>();
  const price: string | null = first.price_min;

  // A policy by id.
  const policy = await client.GET("/v1/policies/{item_id}", {
    params: { path: { item_id: "5f0c6a4e-0000-4000-8000-000000000001" } },
  });
  if (policy.error) return policy.error.status === 404 ? "no such policy" : policy.error.code;
  assertType<Exactly<typeof policy.data.level, "national" | "provincial" | "municipal" | "district">>();
  const issued: string = policy.data.issue_date;

  // Open a deal and fund it: money moves only with an Idempotency-Key.
  const opened = await client.POST("/v1/deals", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: {
      technology_id: first.id,
      title: "盾构刀盘耐磨涂层技术转让",
      category: "transfer",
      gross_amount: "9500000.00",
      milestones: [{ title: "样机交付与验收", amount: "9500000.00" }],
    },
  });
  if (opened.error) return opened.error.code;
  const deal = opened.data;
  assertType<Exactly<typeof deal.status, "created" | "funded" | "settled" | "cancelled" | "refunded">>();
  assertType<Exactly<typeof deal.currency, "CNY">>();
  const gross: string = deal.gross_amount;
  const location: string | null = opened.response.headers.get("Location");

  const fundingKey = crypto.randomUUID();
  const funded = await client.POST("/v1/deals/{deal_id}/fund", {
    params: { path: { deal_id: deal.id }, header: { "Idempotency-Key": fundingKey } },
  });
  if (funded.error) {
    switch (funded.error.code) {
      case "insufficient_funds":
      case "illegal_transition":
        return funded.error.detail;
      default:
        return funded.error.code;
    }
  }
  const escrow: string = funded.data.escrow_amount;

  // The ledger's totals (auditors and operators).
  const totals = await client.GET("/v1/ledger/totals", {
    params: { query: { from: "2026-01-01", to: "2026-12-31", group_by: "month" } },
  });
  if (totals.error) return totals.error.code;
  const volumes: string[] = totals.data.groups.map((group) => group.transaction_volume);
  const remitted: string = totals.data.tax_remitted;

  return [expiresIn, price, issued, gross, location, escrow, remitted, ...volumes].join(" ");
}

// --- what must not compile -----------------------------------------------------------------

export async function mistakes(baseUrl: string, dealId: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });

  // @ts-expect-error funding without an Idempotency-Key
  await client.POST("/v1/deals/{deal_id}/fund", { params: { path: { deal_id: dealId } } });

  await client.POST("/v1/deals", {
    params: { header: { "Idempotency-Key": "k" } },
    body: {
      technology_id: dealId,
      title: "t",
      category: "transfer",
      // @ts-expect-error money is a decimal string, never a number
      gross_amount: 9500000,
    },
  });

  // @ts-expect-error the sign-in form needs a password
  await client.POST("/v1/auth/token", { body: { username: "a@b.cn" } });

  await client.GET("/v1/technologies", {
    // @ts-expect-error sort is an enum of the catalog's orders
    params: { query: { sort: "cheapest" } },
  });

  const deal = await client.GET("/v1/deals/{deal_id}", { params: { path: { deal_id: dealId } } });
  if (deal.error) {
    // @ts-expect-error Problem.code is an enum: a code the server never sends cannot be compared
    if (deal.error.code === "no_such_code") return;
  } else {
    // @ts-expect-error a deal's status is an enum
    if (deal.data.status === "paid") return;
  }
}
