// One confirmation dialog for every destructive action.

type Pending = { title: string; text: string; action: string; resolve: (ok: boolean) => void };

export const confirmState = $state<{ pending: Pending | null }>({ pending: null });

export function confirm(title: string, text: string, action = "Delete"): Promise<boolean> {
  return new Promise((resolve) => {
    confirmState.pending = { title, text, action, resolve };
  });
}

export function answer(ok: boolean) {
  const p = confirmState.pending;
  confirmState.pending = null;
  p?.resolve(ok);
}
