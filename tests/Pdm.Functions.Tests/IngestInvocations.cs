using System.Text;
using System.Text.Json.Nodes;
using Pdm.Telemetry;

namespace Pdm.Functions.Tests;

/// <summary>One IoT Hub event for an Ingest invocation: who sent it, the body and its properties.</summary>
public sealed record HubEvent(string DeviceId, string Body, string? MessageId = null,
    IReadOnlyDictionary<string, string>? ApplicationProperties = null);

/// <summary>
/// Ingest invocations as the Functions host (and the dev host) posts them: bodies and per-event metadata arrays as
/// JSON text inside strings, system properties under their Event Hubs names.
/// </summary>
public static class IngestInvocations
{
    /// <summary>A telemetry v1 body: <paramref name="count"/> samples of one machine, one a second from now.</summary>
    public static string Telemetry(string machineId, long firstSequence = 1, int count = 1) =>
        Encoding.UTF8.GetString(TelemetryEncoder.Encode(
        [
            .. Enumerable.Range(0, count).Select(i => new MachineSample
            {
                MachineId = machineId,
                Timestamp = DateTimeOffset.UtcNow.AddSeconds(i - count),
                Sequence = firstSequence + i,
                Values = [new SensorValue("temperature", 40 + i), new SensorValue("current", 12)],
            }),
        ]));

    public static StringContent Create(IReadOnlyList<HubEvent> events)
    {
        var now = DateTime.UtcNow;
        var system = new JsonArray();
        var properties = new JsonArray();
        var enqueued = new JsonArray();
        var sequences = new JsonArray();
        var sequence = 0L;
        foreach (var e in events)
        {
            var props = new JsonObject { ["iothub-connection-device-id"] = e.DeviceId, ["iothub-enqueuedtime"] = now };
            if (e.MessageId is not null)
            {
                props["message-id"] = e.MessageId;
            }
            system.Add(props);
            properties.Add(new JsonObject((e.ApplicationProperties ?? new Dictionary<string, string>())
                .Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))));
            enqueued.Add(now);
            sequences.Add(++sequence);
        }
        var invocation = new JsonObject
        {
            ["Data"] = new JsonObject { ["events"] = new JsonArray([.. events.Select(e => (JsonNode?)e.Body)]).ToJsonString() },
            ["Metadata"] = new JsonObject
            {
                ["PartitionContext"] = new JsonObject { ["PartitionId"] = "0" },
                ["SystemPropertiesArray"] = system.ToJsonString(),
                ["PropertiesArray"] = properties.ToJsonString(),
                ["EnqueuedTimeUtcArray"] = enqueued.ToJsonString(),
                ["SequenceNumberArray"] = sequences.ToJsonString(),
            },
        };
        return new StringContent(invocation.ToJsonString(), Encoding.UTF8, "application/json");
    }
}
