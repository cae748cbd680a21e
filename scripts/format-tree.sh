#!/bin/sh
# Formats the whole tree with Biome once, then turns the format check on in `npm run lint` (and so in
# `npm test`). Run it from the repository root after the last in-flight branch is merged, and commit the
# result on its own: a formatting-only commit is easy to review and to skip in `git blame`
# (list it in .git-blame-ignore-revs).
set -eu
cd "$(dirname "$0")/.."
npx biome format --write .
# Safe fixes only (never --unsafe): what a rule can fix without changing behaviour.
npx biome lint --write .
node -e '
const fs = require("fs");
const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
p.scripts.lint = "biome ci .";
fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");
'
npx biome ci .
echo "formatted; now: npx tsc -p tsconfig.json --noEmit && npm test, then commit"
