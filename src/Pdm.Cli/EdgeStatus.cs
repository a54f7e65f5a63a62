using System.Text.Json;

namespace Pdm.Cli;

/// <summary>The few figures of the edge module's status.json the demo shows on its progress line.</summary>
internal sealed record EdgeStatus(int Sources, int Connected, long Queued, long Sent, long Dropped, string? ConfigStatus)
{
    public string Summary =>
        $"{Connected}/{Sources} PLCs connected, {Sent} messages sent, {Queued} readings queued"
        + (Dropped > 0 ? $", {Dropped} dropped" : "")
        + (ConfigStatus == "rejected" ? ", config REJECTED (see status.json)" : "");

    /// <summary>Null while the module has not written the file yet (or is replacing it).</summary>
    public static EdgeStatus? TryRead(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var sources = root.TryGetProperty("sources", out var s) ? s.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object).ToList() : [];
            var queue = root.TryGetProperty("queue", out var q) ? q : default;
            return new EdgeStatus(
                sources.Count,
                sources.Count(p => p.Value.GetProperty("state").GetString() == "connected"),
                Number(queue, "readings"),
                Number(queue, "messagesSent"),
                Number(queue, "droppedReadings"),
                root.TryGetProperty("config", out var config) ? config.GetProperty("status").GetString() : null);
        }
        catch (Exception exception) when (exception is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static long Number(JsonElement queue, string name) =>
        queue.ValueKind == JsonValueKind.Object && queue.TryGetProperty(name, out var value) ? value.GetInt64() : 0;
}
