// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { Button, Modal } from './ui.tsx';

afterEach(cleanup);

/** A page with a control behind the dialog, as the wizard's confirm has. */
function Page() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Save
      </button>
      <a href="#behind">Behind the backdrop</a>
      {open ? (
        <Modal title="Save with missing permissions?" onClose={() => setOpen(false)}>
          <p>Some actions are missing.</p>
          <Button onClick={() => setOpen(false)}>Cancel</Button>
          <Button variant="primary">Save anyway</Button>
        </Modal>
      ) : null}
    </>
  );
}

function open() {
  render(<Page />);
  const opener = screen.getByRole('button', { name: 'Save' });
  opener.focus();
  fireEvent.click(opener);
  return opener;
}

const tab = (shiftKey = false) =>
  fireEvent.keyDown(document.activeElement ?? document.body, { key: 'Tab', shiftKey });

describe('Modal', () => {
  it('starts on the safe button and wraps Tab from the last button to the first and back', () => {
    open();
    const cancel = screen.getByRole('button', { name: 'Cancel' });
    const save = screen.getByRole('button', { name: 'Save anyway' });
    expect(document.activeElement).toBe(cancel);

    save.focus();
    tab();
    expect(document.activeElement).toBe(cancel);

    tab(true);
    expect(document.activeElement).toBe(save);
  });

  it('brings focus back inside when it had got behind the backdrop', () => {
    open();
    screen.getByRole('link', { name: 'Behind the backdrop' }).focus();
    tab();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
  });

  it('closes on Escape wherever focus is, and gives focus back to the opener', () => {
    const opener = open();
    screen.getByRole('link', { name: 'Behind the backdrop' }).focus();
    fireEvent.keyDown(document.activeElement ?? document.body, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(opener);

    // Opened again, it still answers Escape (the first one's listener left with it).
    fireEvent.click(opener);
    expect(screen.getByRole('dialog')).toBeTruthy();
    fireEvent.keyDown(document.body, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
