using System.Text.Json.Nodes;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>
/// docs/openapi.json is the document the app serves, byte for byte after normalizing line ends: integrators read the
/// checked-in copy, so it must not drift. <c>./pdm openapi --write</c> (PDM_WRITE_OPENAPI=1) replaces the copy.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class OpenApiDocumentTests(ApiFixture fixture)
{
    private const string Regenerate = "./pdm openapi --write";
    private static readonly string CheckedIn = Path.Combine(RepoPaths.Root, "docs", "openapi.json");

    [Fact]
    public async Task The_checked_in_document_is_the_one_the_app_serves()
    {
        using var anonymous = fixture.Factory.Client();
        using var response = await anonymous.GetAsync("api/v1/openapi.json");
        var served = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {served}");
        var normalized = JsonNode.Parse(served)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        if (Environment.GetEnvironmentVariable("PDM_WRITE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(CheckedIn, normalized);
        }
        var copy = File.Exists(CheckedIn) ? (await File.ReadAllTextAsync(CheckedIn)).ReplaceLineEndings("\n") : "";
        Assert.True(copy == normalized,
            $"docs/openapi.json differs from what the app serves at /api/v1/openapi.json. Regenerate it with: {Regenerate}");
    }

    [Fact]
    public async Task Every_v1_operation_has_an_id_and_keyed_ones_document_their_problems()
    {
        using var anonymous = fixture.Factory.Client();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("api/v1/openapi.json"))!;
        var paths = document["paths"]!.AsObject();
        Assert.Contains("/api/v1/machines/{machineId}", paths.Select(p => p.Key));
        var ids = new List<string>();
        foreach (var (path, item) in paths)
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var id = operation!["operationId"]?.GetValue<string>();
                Assert.False(string.IsNullOrEmpty(id), $"{method} {path} has no operationId");
                ids.Add(id!);
                if (path.StartsWith("/api/v1/", StringComparison.Ordinal) && path != "/api/v1/openapi.json")
                {
                    var responses = operation["responses"]!.AsObject();
                    Assert.True(responses.ContainsKey("401") && responses.ContainsKey("403"), $"{method} {path} does not document 401/403");
                    Assert.NotNull(responses["403"]!["content"]!["application/problem+json"]);
                }
            }
        }
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        var machine = paths["/api/v1/machines/{machineId}"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;
        Assert.NotNull(machine["$ref"] ?? machine["properties"]);
    }
}
