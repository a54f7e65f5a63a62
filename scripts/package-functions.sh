#!/usr/bin/env sh
# Builds the function app for Flex Consumption's custom runtime: self-contained linux-x64 (the custom image's
# .NET content is not documented), handler executable (mode 0755), host.json and function folders at the zip root.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/out"
rm -rf "$out/functions" "$out/functions.zip"
dotnet publish "$root/functions/Pdm.Functions.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=false -o "$out/functions" -nologo -v q
chmod 755 "$out/functions/handler"
(cd "$out/functions" && zip -qr -X "$out/functions.zip" .)
echo "packaged $out/functions.zip"
