// Commit–reveal in the browser (DRAW-PROTOCOL.md §1.4, also used by the inspector draw §2.2).
//
// The secret is 32 bytes from crypto.getRandomValues; the reveal is their lowercase hex; the
// commitment is SHA-256 of those 64 ASCII characters, in hex. SHA-256 comes from @noble/hashes,
// served by the platform: crypto.subtle exists only in secure contexts (https), and an intranet
// deployment often runs over plain http. crypto.getRandomValues works in any context.
//
// Markup (any page, any draw kind; the storage key names task, draw/run and entropy item):
//   <form data-ssj-commit data-storage-key="ssj:draw:<task>:<n>:party.<DEPT>">
//     <input type="hidden" name="commitment">
//     <button type="button" data-ssj-generate> … <div data-ssj-secret-box hidden>
//       <code data-ssj-secret></code> <code data-ssj-commitment></code>
//       <button type="button" data-ssj-print> <button data-ssj-submit>
//   <form data-ssj-reveal data-storage-key="…" data-commitment="<hex>">
//     <input name="value"> <div data-ssj-error></div>
// The secret stays in this browser's localStorage under the key until it is revealed, and is
// shown once for the user to save or print: with another computer they paste it back.

import { sha256 } from "../vendor/noble-hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "../vendor/noble-hashes/utils.js";

const HEX64 = /^[0-9a-f]{64}$/;

export function newSecret() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return bytesToHex(bytes);
}

export function commitmentOf(reveal) {
  return bytesToHex(sha256(utf8ToBytes(reveal)));
}

function storedSecret(key) {
  try {
    const value = window.localStorage.getItem(key);
    return value && HEX64.test(value) ? value : null;
  } catch (e) {
    return null; // storage disabled: the printed backup is the only copy
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (e) {
    /* the user is told to keep the backup in any case */
  }
}

function printBackup(secret, commitment, key) {
  const win = window.open("", "_blank");
  if (!win) return;
  const doc = win.document;
  doc.title = "抽取随机数备份";
  const add = (tag, text) => {
    const el = doc.createElement(tag);
    el.textContent = text;
    doc.body.appendChild(el);
  };
  add("h1", "抽取随机数备份（揭示时使用，请妥善保管，勿交给他人）");
  add("p", "项目：" + key);
  add("p", "随机数：" + secret);
  add("p", "承诺（SHA-256）：" + commitment);
  win.print();
}

function setupCommit(form) {
  const key = form.dataset.storageKey;
  const box = form.querySelector("[data-ssj-secret-box]");
  const submit = form.querySelector("[data-ssj-submit]");
  let secret = null;
  let commitment = null;
  form.querySelector("[data-ssj-generate]").addEventListener("click", () => {
    // A secret made earlier in this browser but never committed is reused, so reloading the
    // page between generating and submitting never orphans a backup the user already saved.
    secret = storedSecret(key + ":pending") || newSecret();
    store(key + ":pending", secret);
    commitment = commitmentOf(secret);
    form.querySelector("input[name=commitment]").value = commitment;
    box.querySelector("[data-ssj-secret]").textContent = secret;
    box.querySelector("[data-ssj-commitment]").textContent = commitment;
    box.hidden = false;
  });
  const print = form.querySelector("[data-ssj-print]");
  if (print) print.addEventListener("click", () => printBackup(secret, commitment, key));
  form.addEventListener("submit", (event) => {
    if (!secret || commitmentOf(secret) !== form.querySelector("input[name=commitment]").value) {
      event.preventDefault();
      return;
    }
    store(key, secret);
    if (submit) submit.disabled = true;
  });
}

function setupReveal(form) {
  const key = form.dataset.storageKey;
  const expected = form.dataset.commitment;
  const input = form.querySelector("[name=value]");
  const error = form.querySelector("[data-ssj-error]");
  const secret = storedSecret(key);
  if (secret && !input.value) input.value = secret;
  form.addEventListener("submit", (event) => {
    const value = input.value.trim().toLowerCase();
    let problem = "";
    if (!HEX64.test(value)) {
      problem = "随机数应为 64 个十六进制字符。";
    } else if (commitmentOf(value) !== expected) {
      problem = "这个随机数与本部门提交的承诺不符，请使用承诺时生成并保存的那个随机数。";
    }
    if (problem) {
      event.preventDefault();
      if (error) error.textContent = problem;
      return;
    }
    input.value = value;
  });
}

document.querySelectorAll("form[data-ssj-commit]").forEach(setupCommit);
document.querySelectorAll("form[data-ssj-reveal]").forEach(setupReveal);
window.ssjEntropy = { newSecret, commitmentOf };
