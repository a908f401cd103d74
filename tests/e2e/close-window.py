#!/usr/bin/python3
"""Asks the Dream Writer window to close, as a window manager's close button does: an ICCCM
WM_DELETE_WINDOW message to every top-level window whose title ends in "Dream Writer".
(Xvfb has no window manager, and WebDriver can only destroy the page, not ask.)"""
from Xlib import X, display, protocol

d = display.Display()
delete = d.intern_atom("WM_DELETE_WINDOW")
protocols = d.intern_atom("WM_PROTOCOLS")
utf8_name = d.intern_atom("_NET_WM_NAME")
sent = 0
for w in d.screen().root.query_tree().children:
    name = w.get_full_text_property(utf8_name) or w.get_wm_name() or ""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if name.endswith("Dream Writer"):
        w.send_event(protocol.event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])))
        sent += 1
d.flush()
print(f"asked {sent} window(s) to close")
