export type Webhook = { id: string; collection: string; events: string[]; url: string; enabled: boolean; created: string; updated: string };

export type Delivery = {
  id: string;
  webhook: string;
  event: string;
  recordId: string;
  attempt: number;
  status: string;
  responseCode: number;
  durationMs: number;
  error: string;
  created: string;
};
