using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Events;
using Pdm.DevHost.Handler;
using Pdm.DevHost.Triggers;

namespace Pdm.DevHost.Tests;

public class EventHubPayloadTests
{
    private static readonly DateTime Enqueued = new(2025, 3, 1, 12, 0, 0, 250, DateTimeKind.Utc);

    private static readonly EventHubTriggerBinding Binding = new()
    {
        Name = "events", EventHubName = "pdm-hub", ConsumerGroup = "ingest", Binary = false,
    };

    private static PartitionEvent Stored(string deviceId, string? moduleId, string body, long sequenceNumber, string? messageId = null) => new()
    {
        Event = new DeviceEvent
        {
            DeviceId = deviceId,
            ModuleId = moduleId,
            Body = Encoding.UTF8.GetBytes(body),
            SystemProperties = messageId is null
                ? new Dictionary<string, string>()
                : new Dictionary<string, string> { ["message-id"] = messageId, ["content-type"] = "application/json" },
            ApplicationProperties = new Dictionary<string, string> { ["alarm"] = "high" },
        },
        PartitionId = "2",
        SequenceNumber = sequenceNumber,
        Offset = sequenceNumber * 100,
        EnqueuedTimeUtc = Enqueued,
    };

    private static JsonObject Wire(EventHubTriggerBinding binding, params PartitionEvent[] batch)
    {
        var retry = new JsonObject { ["RetryCount"] = 0, ["MaxRetryCount"] = 3, ["Exception"] = null };
        var bytes = FunctionInvoker.Serialize(EventHubPayload.Build(binding, batch), "Ingest", Enqueued, Guid.NewGuid(), retry);
        return JsonNode.Parse(bytes)!.AsObject();
    }

    private static JsonArray ParseText(JsonNode? node)
    {
        Assert.Equal(JsonValueKind.String, node!.GetValueKind());
        return JsonNode.Parse(node.GetValue<string>())!.AsArray();
    }

    [Fact]
    public void Batch_bodies_are_a_string_holding_a_json_array_of_strings()
    {
        var wire = Wire(Binding, Stored("dev-1", null, """{"t":1}""", 7), Stored("dev-1", null, "not json \u00e9", 8));

        var data = wire["Data"]!.AsObject();
        Assert.Equal(["events"], data.Select(p => p.Key));
        var bodies = ParseText(data["events"]);
        Assert.Equal(["""{"t":1}""", "not json \u00e9"], bodies.Select(b => b!.GetValue<string>()));
    }

    [Fact]
    public void Metadata_arrays_are_strings_while_partition_context_sys_and_retry_context_are_objects()
    {
        var wire = Wire(Binding, Stored("dev-1", null, "{}", 7), Stored("dev-1", null, "{}", 8));
        var metadata = wire["Metadata"]!.AsObject();

        foreach (var key in new[] { "PartitionKeyArray", "OffsetArray", "SequenceNumberArray", "EnqueuedTimeUtcArray", "PropertiesArray", "SystemPropertiesArray" })
        {
            Assert.Equal(2, ParseText(metadata[key]).Count);
        }

        Assert.Equal([7L, 8L], ParseText(metadata["SequenceNumberArray"]).Select(n => n!.GetValue<long>()));
        Assert.Equal(["700", "800"], ParseText(metadata["OffsetArray"]).Select(n => n!.GetValue<string>()));
        Assert.All(ParseText(metadata["PartitionKeyArray"]), n => Assert.Null(n));
        Assert.Equal(Enqueued, ParseText(metadata["EnqueuedTimeUtcArray"])[0]!.GetValue<DateTime>().ToUniversalTime());

        var context = metadata["PartitionContext"]!.AsObject();
        Assert.Equal("pdm-hub", (string?)context["EventHubName"]);
        Assert.Equal("ingest", (string?)context["ConsumerGroup"]);
        Assert.Equal("2", (string?)context["PartitionId"]);
        Assert.NotNull((string?)context["FullyQualifiedNamespace"]);

        var sys = metadata["sys"]!.AsObject();
        Assert.Equal("Ingest", (string?)sys["MethodName"]);
        Assert.Equal(JsonValueKind.String, sys["UtcNow"]!.GetValueKind());
        Assert.True(Guid.TryParse((string?)sys["RandGuid"], out _));

        Assert.Equal(JsonValueKind.Object, metadata["RetryContext"]!.GetValueKind());
        Assert.Equal(3, (int)metadata["RetryContext"]!["MaxRetryCount"]!);
    }

    [Fact]
    public void System_properties_carry_iot_hub_and_event_hubs_keys_and_application_properties_stay_separate()
    {
        var wire = Wire(Binding, Stored("dev-1", null, "{}", 7, "m-1"), Stored("dev-2", "edge", "{}", 8));
        var system = ParseText(wire["Metadata"]!["SystemPropertiesArray"]);
        var device = system[0]!.AsObject();
        var module = system[1]!.AsObject();

        Assert.Equal("dev-1", (string?)device["iothub-connection-device-id"]);
        Assert.False(device.ContainsKey("iothub-connection-module-id"));
        Assert.Equal("m-1", (string?)device["message-id"]);
        Assert.Equal("application/json", (string?)device["content-type"]);
        Assert.Equal("Telemetry", (string?)device["iothub-message-source"]);
        Assert.Contains("\"scope\":\"device\"", (string?)device["iothub-connection-auth-method"], StringComparison.Ordinal);
        Assert.Matches("^[0-9]{18}$", (string?)device["iothub-connection-auth-generation-id"]);
        Assert.Equal(7L, (long)device["x-opt-sequence-number"]!);
        Assert.Equal(7L, (long)device["SequenceNumber"]!);
        Assert.Equal("700", (string?)device["x-opt-offset"]);
        Assert.Equal("700", (string?)device["Offset"]);
        Assert.True(device.ContainsKey("PartitionKey"));
        foreach (var key in new[] { "iothub-enqueuedtime", "x-opt-enqueued-time", "EnqueuedTimeUtc" })
        {
            Assert.Equal(Enqueued, device[key]!.GetValue<DateTime>().ToUniversalTime());
        }

        Assert.Equal("edge", (string?)module["iothub-connection-module-id"]);
        Assert.Contains("\"scope\":\"module\"", (string?)module["iothub-connection-auth-method"], StringComparison.Ordinal);

        var properties = ParseText(wire["Metadata"]!["PropertiesArray"]);
        Assert.Equal("high", (string?)properties[0]!["alarm"]);
        Assert.False(properties[0]!.AsObject().ContainsKey("message-id"));
    }

    [Fact]
    public void Identity_comes_from_the_connection_not_from_the_device_property_bag()
    {
        var original = Stored("dev-1", null, "{}", 0);
        var spoofing = original with
        {
            Event = original.Event with
            {
                SystemProperties = new Dictionary<string, string>
                {
                    ["iothub-connection-device-id"] = "other-tenant-device", ["iothub-connection-module-id"] = "x",
                },
            },
        };

        var system = ParseText(Wire(Binding, spoofing)["Metadata"]!["SystemPropertiesArray"])[0]!.AsObject();

        Assert.Equal("dev-1", (string?)system["iothub-connection-device-id"]);
        Assert.False(system.ContainsKey("iothub-connection-module-id"));
    }

    [Fact]
    public void Binary_data_type_sends_bodies_as_base64()
    {
        var wire = Wire(Binding with { Binary = true }, Stored("dev-1", null, "\u0001\u0002gz", 0));

        var body = ParseText(wire["Data"]!["events"])[0]!.GetValue<string>();
        Assert.Equal("\u0001\u0002gz", Encoding.UTF8.GetString(Convert.FromBase64String(body)));
    }

    [Fact]
    public void A_device_always_maps_to_the_same_partition_and_devices_spread_over_partitions()
    {
        var partitions = Enumerable.Range(0, 200).Select(i => BuiltInEndpoint.PartitionFor($"device-{i}", 4)).ToList();

        Assert.Equal(BuiltInEndpoint.PartitionFor("device-7", 4), BuiltInEndpoint.PartitionFor("device-7", 4));
        Assert.Equal(4, partitions.Distinct().Count());
        Assert.All(partitions.GroupBy(p => p), g => Assert.InRange(g.Count(), 25, 75));
    }

    [Fact]
    public void Endpoint_numbers_events_per_partition_in_arrival_order()
    {
        var stored = new List<PartitionEvent>();
        var endpoint = new BuiltInEndpoint(4, [stored.Add], TimeProvider.System);

        foreach (var device in new[] { "a", "a", "b", "a" })
        {
            endpoint.Append(new DeviceEvent { DeviceId = device, Body = new byte[10] });
        }

        var forA = stored.Where(e => e.Event.DeviceId == "a").ToList();
        Assert.Equal([0L, 1L, forA[2].SequenceNumber], forA.Select(e => e.SequenceNumber));
        Assert.True(forA[2].SequenceNumber >= 2);
        Assert.Equal([0L, 11L], forA.Take(2).Select(e => e.Offset));
        Assert.All(forA, e => Assert.Equal(forA[0].PartitionId, e.PartitionId));
    }
}
