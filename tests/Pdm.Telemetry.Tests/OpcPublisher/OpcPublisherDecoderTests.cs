using System.IO.Compression;
using System.Text;
using Pdm.Telemetry.OpcPublisher;

namespace Pdm.Telemetry.Tests.OpcPublisher;

/// <summary>
/// One test per documented OPC Publisher 2.9 message shape (docs/azure-contracts.md section 7), fed from the
/// recorded-shape fixtures in this folder, plus bad quality, malformed input and gzip bodies.
/// </summary>
public sealed class OpcPublisherDecoderTests
{
    private static readonly string[] FixtureNames =
    [
        "pubsub-compat-batch.json", "pubsub-strict.json", "pubsub-keepalive.json", "pubsub-metadata.json",
        "pubsub-reversible.json", "pubsub-uatype.json", "pubsub-events.json", "samples-single.json",
        "samples-batch.json", "samples-minimal.json", "datasetmessages-mode.json", "malformed-structure.json",
        "truncated.json",
    ];

    // The content types OPC Publisher sets ($$ContentType): PubSub network messages, Samples mode, JsonGzip.
    private const string NetworkMessageContentType = "application/x-network-message-json-v1";
    private const string MonitoredItemContentType = "application/x-monitored-item-json-v1";
    private const string JsonGzipContentType = "application/json+gzip";

    private static byte[] Fixture(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "OpcPublisher", name));

    private static OpcDecodeResult DecodeFile(string name, string? contentType = NetworkMessageContentType) =>
        OpcPublisherDecoder.Decode(Fixture(name), contentType);

    private static OpcDecodeResult DecodeText(string json, string? contentType = null) =>
        OpcPublisherDecoder.Decode(Encoding.UTF8.GetBytes(json), contentType);

    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    private static string Errors(OpcDecodeResult result) => string.Join("; ", result.Errors);

    [Fact]
    public void Compatibility_mode_batch_of_network_messages_yields_values_with_writer_and_field()
    {
        var result = DecodeFile("pubsub-compat-batch.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(2, result.NetworkMessages);
        Assert.Equal(3, result.DataSetMessages);
        Assert.Equal(
            [("press-7", "Temperature", 71.25), ("press-7", "Vibration", 3.4), ("press-7", "Running", 1),
             ("press-7", "Temperature", 71.5), ("press-8", "Temperature", 64)],
            result.Values.Select(v => (v.DataSetWriter, v.Field, v.Value)));
        var first = result.Values[0];
        Assert.Equal("opc.tcp://plc-line2:4840_3A1C77E0", first.PublisherId);
        Assert.Equal("line2", first.WriterGroup);
        Assert.Equal("press-7", first.DataSetWriterId);
        Assert.Null(first.DataSetWriterName);
        Assert.Equal(0u, first.StatusCode);
        Assert.Equal(Utc("2026-03-02T08:15:00.12Z"), first.SourceTimestamp);
        Assert.Equal(first.SourceTimestamp, first.Timestamp);
    }

    [Fact]
    public void Delta_frame_value_without_source_timestamp_takes_the_data_set_message_timestamp()
    {
        var result = DecodeFile("pubsub-compat-batch.json");

        var delta = result.Values[3];
        Assert.Null(delta.SourceTimestamp);
        Assert.Equal(Utc("2026-03-02T08:15:01.5Z"), delta.Timestamp);
    }

    [Fact]
    public void Bad_quality_value_is_skipped_and_counted_with_its_status()
    {
        var result = DecodeFile("pubsub-compat-batch.json");

        var bad = Assert.Single(result.Skipped, s => s.Reason == OpcSkipReason.BadStatus);
        Assert.Equal("[0].Messages[0].Payload.Pressure", bad.Path);
        Assert.Equal("press-7", bad.DataSetWriter);
        Assert.Equal("Pressure", bad.Field);
        Assert.Equal(2150694912u, bad.StatusCode);
        Assert.Equal("[0].Messages[0].Payload.Pressure: bad status BadNoCommunication (0x80310000)", bad.ToString());
        Assert.Equal(1, result.Skipped.Count(s => s.Reason == OpcSkipReason.BadStatus));
        Assert.DoesNotContain(result.Values, v => v.Field == "Pressure");
    }

    [Fact]
    public void String_value_is_skipped_as_not_numeric_with_path_and_reason()
    {
        var result = DecodeFile("pubsub-compat-batch.json");

        var text = Assert.Single(result.Skipped, s => s.Reason == OpcSkipReason.NotNumeric);
        Assert.Equal("[0].Messages[0].Payload.Line: value is a string", text.ToString());
        Assert.True(result.IsClean, Errors(result));
    }

    [Fact]
    public void Strict_mode_reads_integer_writer_ids_names_and_numeric_status_codes()
    {
        var result = DecodeFile("pubsub-strict.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(1, result.NetworkMessages);
        Assert.Equal(2, result.DataSetMessages);
        Assert.Equal(1, result.KeepAliveMessages);
        Assert.Equal(
            [("1", "press-7", "Temperature", 72.0), ("1", "press-7", "Vibration", 2.75), ("2", "press-8", "Temperature", 65.5)],
            result.Values.Select(v => (v.DataSetWriterId, v.DataSetWriterName, v.Field, v.Value)));
        Assert.All(result.Values, v => Assert.Equal(v.DataSetWriterName, v.DataSetWriter));
        Assert.All(result.Values, v => Assert.Equal("edge-gw-01", v.PublisherId));
        var bad = Assert.Single(result.Skipped);
        Assert.Equal("Messages[0].Payload.Pressure: bad status 0x80310000", bad.ToString());
    }

    [Fact]
    public void Uncertain_value_is_kept_with_its_status_code()
    {
        var result = DecodeFile("pubsub-strict.json");

        var vibration = Assert.Single(result.Values, v => v.Field == "Vibration");
        Assert.Equal(1083179008u, vibration.StatusCode);
        Assert.True(vibration.IsUncertain);
        Assert.False(result.Values.Single(v => v.Field == "Temperature" && v.DataSetWriter == "press-7").IsUncertain);
    }

    [Fact]
    public void Keep_alive_message_is_counted_and_yields_no_values()
    {
        var result = DecodeFile("pubsub-keepalive.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(1, result.KeepAliveMessages);
        Assert.Equal(0, result.DataSetMessages);
        Assert.Empty(result.Values);
        Assert.Empty(result.Skipped);
    }

    [Fact]
    public void Metadata_message_is_counted_and_yields_no_values()
    {
        var result = DecodeFile("pubsub-metadata.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(1, result.MetadataMessages);
        Assert.Empty(result.Values);
        Assert.Empty(result.Skipped);
        var dataSet = Assert.Single(result.DataSets);
        Assert.Equal(("edge-gw-01", "1", "press-7", "Press7Condition"),
            (dataSet.PublisherId, dataSet.DataSetWriterId, dataSet.DataSetWriter, dataSet.DataSetName));
        Assert.Equal(["Temperature", "Running"], dataSet.Fields);
    }

    [Fact]
    public void Event_and_condition_messages_yield_no_values()
    {
        var result = DecodeFile("pubsub-events.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(2, result.EventMessages);
        Assert.Empty(result.Values);
        Assert.Empty(result.Skipped);
    }

    [Fact]
    public void Reversible_variants_are_unwrapped_by_type_id_or_type_name()
    {
        var result = DecodeFile("pubsub-reversible.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(
            [("Temperature", 70.5), ("Speed", 1480.25), ("Cycles", 9007199254740993d), ("Running", 0)],
            result.Values.Select(v => (v.Field, v.Value)));
        Assert.Equal(Utc("2026-03-02T09:59:59.5Z"), result.Values[0].SourceTimestamp);
        // A bare Variant has no timestamps of its own.
        Assert.Equal(Utc("2026-03-02T10:00:00Z"), result.Values[3].Timestamp);
    }

    [Fact]
    public void Reversible_status_code_variant_is_a_bad_value_and_structures_are_not_numbers()
    {
        var result = DecodeFile("pubsub-reversible.json");

        Assert.Equal(
            ["[0].Messages[0].Payload.Pressure: bad status 0x80340000",
             "[0].Messages[0].Payload.Operator: value is an object (a structure or an event), not a number"],
            result.Skipped.Select(s => s.ToString()));
    }

    [Fact]
    public void Ua_type_data_values_of_the_1_05_encoding_are_read()
    {
        var result = DecodeFile("pubsub-uatype.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(
            [("Temperature", 73.125, 0u), ("Cycles", 123456, 0u), ("Vibration", 4.5, 1083179008u)],
            result.Values.Select(v => (v.Field, v.Value, v.StatusCode)));
        var bad = Assert.Single(result.Skipped);
        Assert.Equal(("Pressure", OpcSkipReason.BadStatus), (bad.Field, bad.Reason));
    }

    [Fact]
    public void Samples_message_carries_node_endpoint_and_extension_fields()
    {
        var result = DecodeFile("samples-single.json", MonitoredItemContentType);

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(1, result.SampleMessages);
        var value = Assert.Single(result.Values);
        Assert.Equal("Temperature", value.Field);
        Assert.Equal("nsu=urn:plc-line2:press;s=Press7.Temperature", value.NodeId);
        Assert.Equal("opc.tcp://plc-line2:4840/", value.EndpointUrl);
        Assert.Equal("urn:plc-line2:press", value.ApplicationUri);
        Assert.Equal("opc.tcp://plc-line2:4840_3A1C77E0", value.PublisherId);
        Assert.Equal("press-7", value.DataSetWriter);
        Assert.Equal(69.75, value.Value);
        Assert.Equal(Utc("2026-03-02T13:00:00.25Z"), value.Timestamp);
    }

    [Fact]
    public void Samples_batch_converts_booleans_keeps_uncertain_and_skips_bad_and_non_numeric_values()
    {
        var result = DecodeFile("samples-batch.json", MonitoredItemContentType);

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(6, result.SampleMessages);
        Assert.Equal(
            [("Running", 1), ("Vibration", 3.125), ("OilLevel", 0.82)],
            result.Values.Select(v => (v.Field, v.Value)));
        Assert.True(result.Values[2].IsUncertain);
        Assert.Equal(
            ["[2].Value: bad status BadNoCommunication (0x80310000)",
             "[4].Value: value is a string",
             "[5].Value: value is an object (a structure or an event), not a number"],
            result.Skipped.Select(s => s.ToString()));
    }

    [Fact]
    public void Samples_without_display_name_use_the_node_id_as_field()
    {
        var result = DecodeFile("samples-minimal.json", MonitoredItemContentType);

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(
            ["nsu=urn:plc-line2:press;s=Press7.Temperature", "nsu=urn:plc-line2:press;s=Press7.Speed"],
            result.Values.Select(v => v.Field));
        Assert.All(result.Values, v => Assert.Null(v.DataSetWriter));
    }

    [Fact]
    public void Bare_data_set_messages_are_read()
    {
        var result = DecodeFile("datasetmessages-mode.json");

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(0, result.NetworkMessages);
        Assert.Equal(1, result.DataSetMessages);
        Assert.Equal(1, result.KeepAliveMessages);
        Assert.Equal([("Temperature", 68.5), ("Running", 1)], result.Values.Select(v => (v.Field, v.Value)));
        Assert.Equal(Utc("2026-03-02T15:00:00Z"), result.Values[1].Timestamp);
    }

    [Fact]
    public void Structural_problems_are_errors_with_paths_and_good_values_survive()
    {
        var result = DecodeFile("malformed-structure.json");

        Assert.Equal(
            ["[0].Messages: expected an array of data set messages, got an object",
             "[1].Messages[0]: expected a data set message object, got \"press-7\"",
             "[1].Messages[1].Payload: expected an object of fields, got \"Temperature=71\"",
             "[1].Messages[2].MessageType: unknown data set message type 'ua-snapshot'",
             "[1].Messages[3].Timestamp: expected an ISO 8601 date-time, got \"yesterday\"",
             "[2]: expected a message object, got the number 42",
             "[3]: not an OPC Publisher message: expected 'Messages' (network message), 'Payload' (data set message) or 'NodeId' and 'Value' (Samples mode)"],
            result.Errors.Select(e => e.ToString()));
        var value = Assert.Single(result.Values);
        Assert.Equal(("press-8", "Temperature", 66.0), (value.DataSetWriter, value.Field, value.Value));
        var skipped = Assert.Single(result.Skipped);
        Assert.Equal(OpcSkipReason.InvalidTimestamp, skipped.Reason);
        Assert.Equal("[1].Messages[3].Payload.Vibration: SourceTimestamp is not an ISO 8601 date-time: \"03/02/2026 16:00\"", skipped.ToString());
    }

    [Fact]
    public void Malformed_json_gives_one_clear_error_and_no_values()
    {
        var result = DecodeFile("truncated.json");

        Assert.Empty(result.Values);
        var error = Assert.Single(result.Errors);
        Assert.Equal("", error.Path);
        Assert.StartsWith("invalid JSON: ", error.Reason, StringComparison.Ordinal);
        Assert.Contains("LineNumber", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty message body")]
    [InlineData("\"ua-data\"", "expected a JSON object or an array of messages, got \"ua-data\"")]
    [InlineData("{\"MessageType\":\"ua-data\",\"PublisherId\":\"p\"}", "Messages: missing; a ua-data network message carries its data set messages here")]
    [InlineData("{\"MessageType\":\"ua-hello\"}", "MessageType: unknown message type 'ua-hello'")]
    [InlineData("{\"Messages\":[{\"DataSetWriterId\":-1,\"Payload\":{}}]}", "Messages[0].DataSetWriterId: expected a string or a non-negative integer, got the number -1")]
    [InlineData("{\"NodeId\":\"i=1\",\"Value\":{\"Value\":1,\"StatusCode\":\"Good\"}}", "Value.StatusCode: expected a status code number or {\"Code\", \"Symbol\"} object, got \"Good\"")]
    [InlineData("{\"Messages\":[{\"Payload\":{\"A\\ud800\":1}}]}", "invalid JSON text: ")]
    public void Bad_shapes_are_errors_with_a_path_and_reason(string json, string expected)
    {
        var result = DecodeText(json);

        Assert.StartsWith(expected, Assert.Single(result.Errors).ToString(), StringComparison.Ordinal);
        Assert.Empty(result.Values);
    }

    [Theory]
    [InlineData("\"1234567890123\"", 1234567890123d)]
    [InlineData("\"-2.5e3\"", -2500d)]
    [InlineData("17", 17d)]
    [InlineData("false", 0d)]
    public void Numbers_booleans_and_numeric_strings_become_doubles(string value, double expected)
    {
        var result = DecodeText($"{{\"NodeId\":\"i=1\",\"Value\":{{\"Value\":{value}}}}}");

        Assert.Equal(expected, Assert.Single(result.Values).Value);
    }

    [Theory]
    [InlineData("\"NaN\"", OpcSkipReason.NotNumeric, "value is 'NaN', not a finite number")]
    [InlineData("\"Infinity\"", OpcSkipReason.NotNumeric, "value is 'Infinity', not a finite number")]
    [InlineData("1e999", OpcSkipReason.NotNumeric, "number is out of range")]
    [InlineData("[1,2]", OpcSkipReason.NotNumeric, "value is an array")]
    [InlineData("null", OpcSkipReason.NoValue, "no value")]
    public void Values_without_a_finite_number_are_skipped_with_reason(string value, OpcSkipReason reason, string detail)
    {
        var result = DecodeText($"{{\"NodeId\":\"i=1\",\"Value\":{{\"Value\":{value}}}}}");

        Assert.True(result.IsClean, Errors(result));
        var skipped = Assert.Single(result.Skipped);
        Assert.Equal((reason, "Value: " + detail), (skipped.Reason, skipped.ToString()));
    }

    [Fact]
    public void Gzip_body_is_decompressed()
    {
        var plain = Fixture("pubsub-strict.json");
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(plain);
        }

        var result = OpcPublisherDecoder.Decode(compressed.ToArray(), JsonGzipContentType);

        Assert.True(result.IsClean, Errors(result));
        Assert.Equal(3, result.Values.Count);
        Assert.Equal(OpcPublisherDecoder.Decode(plain, null).Values, result.Values);
    }

    [Fact]
    public void Corrupt_gzip_body_is_an_error()
    {
        byte[] body = [0x1F, 0x8B, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x03, 0xFF, 0xFF, 0xFF, 0xFF];

        var result = OpcPublisherDecoder.Decode(body, JsonGzipContentType);

        Assert.Empty(result.Values);
        Assert.StartsWith("gzip body could not be decompressed: ", Assert.Single(result.Errors).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Gzip_body_that_inflates_past_the_limit_is_refused()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[OpcPublisherDecoder.MaxDecompressedBytes + 1]);
        }

        var result = OpcPublisherDecoder.Decode(compressed.ToArray(), null);

        Assert.Equal("gzip body is larger than 16 MiB once decompressed", Assert.Single(result.Errors).Reason);
    }

    [Fact]
    public void Byte_order_mark_is_ignored()
    {
        var body = "\uFEFF"u8.ToArray().Concat(Fixture("samples-single.json")).ToArray();

        var result = OpcPublisherDecoder.Decode(body, MonitoredItemContentType);

        Assert.True(result.IsClean, Errors(result));
        Assert.Single(result.Values);
    }

    [Theory]
    [InlineData("application/x-network-message-uadp-v1")]
    [InlineData("application/octet-stream")]
    public void Non_json_content_type_is_refused(string contentType)
    {
        var result = OpcPublisherDecoder.Decode(Fixture("pubsub-strict.json"), contentType);

        Assert.Equal($"content type '{contentType}' is not an OPC Publisher JSON encoding", Assert.Single(result.Errors).Reason);
        Assert.Empty(result.Values);
    }

    [Fact]
    public void Decoder_never_throws_on_truncated_or_corrupted_fixtures()
    {
        var random = new Random(20260302);
        var decoded = 0;
        foreach (var name in FixtureNames)
        {
            var body = Fixture(name);
            for (var length = 0; length <= body.Length; length += 7)
            {
                OpcPublisherDecoder.Decode(body.AsSpan(0, length), null);
                decoded++;
            }
            for (var round = 0; round < 200; round++)
            {
                var corrupted = (byte[])body.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    corrupted[random.Next(corrupted.Length)] = (byte)random.Next(256);
                }
                OpcPublisherDecoder.Decode(corrupted, null);
                decoded++;
            }
        }
        Assert.True(decoded > FixtureNames.Length * 200);
    }
}
