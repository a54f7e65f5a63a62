using System.Text;
using System.Threading.Channels;
using Pdm.Edge.Configuration;
using Pdm.Edge.Opc;
using Pdm.Edge.Tests.Sources;
using Pdm.Mqtt;

namespace Pdm.Edge.Tests.Opc;

public sealed class OpcPublisherSourceTests
{
    private const string InputTopic = "devices/gw-1/modules/pdmEdge/inputs/opc/%24.ct=application%2Fx-network-message-json-v1&%24.ce=utf-8";

    // A strict-mode PubSub network message as OPC Publisher writes it: two writers, one value of bad quality.
    private const string NetworkMessage = """
        {
          "MessageId": "m-1", "MessageType": "ua-data", "PublisherId": "gw-1",
          "Messages": [
            {
              "DataSetWriterId": 1, "DataSetWriterName": "press-7", "MessageType": "ua-keyframe", "Timestamp": "2026-11-21T08:00:01Z",
              "Payload": {
                "Oil Temperature": { "Value": 161.6, "SourceTimestamp": "2026-11-21T08:00:00.5Z" },
                "Vibration": { "Value": 2.75, "SourceTimestamp": "2026-11-21T08:00:00.5Z" },
                "Pressure": { "StatusCode": 2150694912, "SourceTimestamp": "2026-11-21T08:00:00.5Z" }
              }
            },
            {
              "DataSetWriterId": 2, "DataSetWriterName": "boiler-2", "MessageType": "ua-deltaframe",
              "Payload": { "Temperature": { "Value": 80.0, "SourceTimestamp": "2026-11-21T08:00:00.7Z" } }
            }
          ]
        }
        """;

    [Fact]
    public async Task Mapped_values_become_one_reading_per_machine_and_timestamp_in_catalog_units()
    {
        var input = Channel.CreateUnbounded<MqttMessage>();
        var source = new OpcPublisherSource(Mapping(), input.Reader);
        var sink = new RecordingSink();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(sink, stop.Token);

        await input.Writer.WriteAsync(new MqttMessage(InputTopic, Encoding.UTF8.GetBytes(NetworkMessage)));
        var reading = await sink.NextAsync();

        Assert.Equal("EG_PRESS_7", reading.MachineId);
        Assert.Equal(DateTimeOffset.Parse("2026-11-21T08:00:00.5Z", System.Globalization.CultureInfo.InvariantCulture), reading.Timestamp);
        var values = reading.Values.ToDictionary(v => v.Sensor, v => v.Value);
        Assert.Equal(72.0, values["temperature"], 9);      // 161.6 °F
        Assert.Equal(2.75, values["vibration"]);
        Assert.False(values.ContainsKey("pressure"));       // bad quality: skipped by the decoder
        await RecordingSink.UntilAsync(() => source.UnmappedValues == 1, "the boiler's value counted as unmapped");
        // The source counts a read after the sink took it.
        await RecordingSink.UntilAsync(() => source.Status.Reads == 1, "the read counted");
        Assert.Equal(SourceState.Connected, source.Status.State);

        await stop.CancelAsync();
        await run;
        Assert.Equal(SourceState.Stopped, source.Status.State);
    }

    [Fact]
    public async Task A_malformed_message_is_counted_with_its_reason_and_the_next_one_still_maps()
    {
        var input = Channel.CreateUnbounded<MqttMessage>();
        var source = new OpcPublisherSource(Mapping(), input.Reader);
        var sink = new RecordingSink();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(sink, stop.Token);

        await input.Writer.WriteAsync(new MqttMessage(InputTopic, Encoding.UTF8.GetBytes("""{ "MessageType": "ua-data", "Messages": [ """)));
        await input.Writer.WriteAsync(new MqttMessage(InputTopic, Encoding.UTF8.GetBytes(NetworkMessage)));

        Assert.Equal("EG_PRESS_7", (await sink.NextAsync()).MachineId);
        // The malformed message came first, so its error is counted before the reading reached the sink.
        Assert.Equal(1, source.Status.Errors);
        Assert.StartsWith(InputTopic, source.Status.LastError, StringComparison.Ordinal);
        await stop.CancelAsync();
        await run;
    }

    [Theory]
    [InlineData(InputTopic, "application/x-network-message-json-v1")]
    [InlineData("devices/gw-1/modules/pdmEdge/inputs/opc/", null)]
    [InlineData("devices/gw-1/modules/pdmEdge/inputs/other/%24.ct=text%2Fplain", null)]
    public void The_content_type_comes_from_the_input_topics_property_bag(string topic, string? expected) =>
        Assert.Equal(expected, OpcPublisherSource.ContentTypeOf(topic));

    private static OpcConfiguration Mapping()
    {
        var parsed = EdgeConfigurationParser.Parse("""
            {
              "schemaVersion": 1, "gatewayId": "gw-1",
              "opc": { "mappings": [ {
                "dataSetWriter": "press-7", "machineId": "EG_PRESS_7",
                "fields": [
                  { "field": "Oil Temperature", "sensor": "temperature", "unit": "degF" },
                  { "field": "Vibration", "sensor": "vibration" },
                  { "field": "Pressure", "sensor": "pressure" }
                ] } ] }
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        return parsed.Configuration!.Opc;
    }
}
