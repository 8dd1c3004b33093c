// The Airlock reference web app. Start-up order matters: the pairing link's
// secret is taken out of the URL before anything else runs.
import "./app.css";
import { defineAirlockElements } from "@airlock/client-sdk/ui";
import { takePairingLink } from "./link.ts";
import { startApp } from "./app.ts";

const pairingLink = takePairingLink();
// Explicit: the SDK package is marked side-effect free, so a bare import could be dropped.
defineAirlockElements();

if ("serviceWorker" in navigator && (location.protocol === "https:" || location.hostname === "localhost" || location.hostname === "127.0.0.1")) {
  navigator.serviceWorker.register("./sw.js").catch(() => {
    // The app works without it; only offline start-up is lost.
  });
}

void startApp(document.getElementById("app")!, pairingLink);
