import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import { App } from './App.tsx';
import { createConsoleClient } from './lib/session.tsx';
import './styles.css';

// The console's CSP forbids eval: zod validates without compiling its checks.
z.config({ jitless: true });

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App client={createConsoleClient()} />
    </StrictMode>,
  );
}
