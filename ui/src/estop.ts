// The E-stop: the big button and Esc anywhere (text fields included) submit one eStop
// each, straight to the backend, with no confirmation.
import type { Backend } from './backend/index';
import { errorMessage } from './backend/types';

/** Installs the E-stop: the button and Esc anywhere (inputs included) submit one eStop. */
export function installEStop(root: Document, backend: Backend, onSent: (ok: boolean, message: string) => void): void {
  const fire = async () => {
    try {
      await backend.submit({ kind: 'eStop' });
      onSent(true, 'E-stop sent');
    } catch (e) {
      onSent(false, `E-stop failed: ${errorMessage(e)}`);
    }
  };
  root.getElementById('estop')?.addEventListener('click', () => void fire());
  // Capture phase, so no handler below can swallow it.
  root.addEventListener(
    'keydown',
    (e) => {
      if (e.key === 'Escape' && !e.repeat) {
        e.preventDefault();
        void fire();
      }
    },
    { capture: true },
  );
}
