// The shapes of the /v1 answers the dashboard reads (packages/contracts describes them with zod; the
// dashboard keeps plain types so that the browser bundle carries no server code).
export interface Page<T> { success: true; data: T[]; hasMore: boolean; nextCursor: string | null }

export interface SessionInfo { tenant: { id: string; environment: 'test' | 'live' }; csrfToken: string }

// The catalog is read and written in the sync body's shape: api/catalog.ts.
export interface CustomerView { id: string; email: string | null; name: string | null; createdAt: string; updatedAt: string }
export interface SubscriptionView {
  id: string; plan: string; status: string; anchorAt: string; trialEndsAt: string | null;
  currentPeriodStart: string | null; currentPeriodEnd: string | null;
}
export interface CustomerDetail extends CustomerView { subscription: SubscriptionView | null }
export interface BalanceView { creditSystem: string; plan: number; purchased: number; total: number; unlimited: boolean; used: number; overage: number }
export interface GrantView {
  id: string; creditSystem: string; source: string; purchaseId: string | null; credits: number; revoked: number; remaining: number; grantedAt: string; expiresAt: string | null;
}
export interface PurchaseSummary {
  id: string; pack: string; creditSystem: string; quantity: number; credits: number; amount: number; currency: string; status: string; source: string; createdAt: string;
}
export interface RecentEvent {
  eventId: string; feature: string; creditSystem: string; value: number; credits: number; creditsPlan: number; creditsPurchased: number;
  creditsOverage: number; eventTime: string; source: string;
}
export interface CustomerBalances {
  customer: CustomerView; balances: BalanceView[]; grants: GrantView[]; purchases: PurchaseSummary[]; recentEvents: RecentEvent[];
}

export interface PurchaseView {
  reference: string; status: string; customer: string; pack: string; creditSystem: string; quantity: number; credits: number; amount: number;
  currency: string; provider: string; source: string; createdAt: string; completedAt: string | null;
  refund: { amount: number; revokedCredits: number; spentCredits: number; createdAt: string } | null;
}

export interface EndpointView { id: string; url: string; events: string[]; createdAt: string }
export interface DeliveryView {
  id: string; eventId: string; eventType: string; status: string; attempts: number; responseStatus: number | null;
  lastError: string | null; redeliveryOf: string | null; createdAt: string; deliveredAt: string | null;
}

export interface ImportStatus {
  id: string; mode: string; format: string; state: string; bytes: number; chunksTotal: number | null; chunksDone: number; rowsRead: number;
  accepted: number; duplicates: number; rejected: number; flagged: number; error: string | null; createdAt: string; finishedAt: string | null; revertedAt: string | null;
}

export interface UsageRow {
  bucket?: string; customer?: string; feature?: string; creditSystem?: string; properties?: Record<string, string>;
  sumValue?: number; sumCredits?: number; count?: number; distinctCustomers?: number; maxValue?: number;
}
export interface UsageResponse { from: string; to: string; window: string | null; data: UsageRow[]; hasMore: boolean; nextCursor: string | null }

export interface ApiKeyView { id: string; name: string; prefix: string; environment: string; createdAt: string; revokedAt: string | null; expiresAt: string | null; current: boolean }
