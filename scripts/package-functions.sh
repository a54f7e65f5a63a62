#!/usr/bin/env sh
# Builds the function app for Flex Consumption's custom runtime: self-contained linux-x64 (the custom image's
# .NET content is not documented), handler executable (mode 0755), host.json and function folders at the zip root,
# and whatever static folders the functions project publishes (the dashboard). Zipped here, on Linux, because azd
# before 1.26 drops Unix file modes when it zips. Usage: package-functions.sh [output folder, default ./out].
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/out}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/functions" "$out/functions.zip"
dotnet publish "$root/functions/Pdm.Functions.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=false -o "$out/functions" -nologo -v q
# Only for local runs; the platform's settings come from the Bicep.
rm -f "$out/functions/local.settings.json"
chmod 755 "$out/functions/handler"
(cd "$out/functions" && zip -qr -X "$out/functions.zip" .)
echo "packaged $out/functions.zip"
