using System.Globalization;
using System.Text.Json;
using Pdm.Mqtt;
using Pdm.Telemetry;

namespace Pdm.Simulator.Tests;

public class DeviceSimulatorTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static DeviceSimulator Create(IMqttClient client, Action<DeviceSimulatorOptions>? configure = null)
    {
        var options = new DeviceSimulatorOptions
        {
            DeviceId = "gateway-01",
            GatewayId = "gw-hall-1",
            Start = Start,
            SpeedUp = 1000,
            MessageLimit = 5,
        };
        configure?.Invoke(options);
        return new DeviceSimulator(client, new FleetSimulator(FleetDefinition.CreateDefault(seed: 4)), options);
    }

    [Fact]
    public async Task Each_tick_publishes_one_v1_message_with_every_machine_to_the_device_events_topic()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        var published = client.Published.ToList();
        Assert.Equal(5, published.Count);
        for (var i = 0; i < published.Count; i++)
        {
            Assert.Equal("devices/gateway-01/messages/events/$.ct=application%2Fjson&$.ce=utf-8", published[i].Topic);
            Assert.Equal(1, published[i].Qos);
            Assert.False(published[i].Retain);

            using var json = JsonDocument.Parse(published[i].Payload);
            var root = json.RootElement;
            Assert.Equal(TelemetryEncoder.SchemaId, root.GetProperty("schema").GetString());
            Assert.Equal("gw-hall-1", root.GetProperty("gateway").GetString());
            var machines = root.GetProperty("machines").EnumerateArray().ToList();
            Assert.Equal(["EG_M001", "EG_M002", "EG_M003", "EG_M004", "EG_M005", "PUMP_001", "PUMP_002", "PUMP_003"],
                machines.Select(m => m.GetProperty("machineId").GetString()));
            Assert.All(machines, m => Assert.Equal(i, m.GetProperty("seq").GetInt64()));
            Assert.All(machines, m => Assert.Equal(
                Start.AddSeconds(i),
                DateTimeOffset.Parse(m.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)));
            Assert.All(machines, m => Assert.All(
                m.GetProperty("values").EnumerateObject(), v => Assert.Equal(JsonValueKind.Number, v.Value.ValueKind)));
        }
    }

    [Fact]
    public async Task Messages_decode_cleanly_to_the_samples_they_were_built_from()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client, o => o.MessageLimit = 20);
        var reported = new List<SimulatedMessage>();
        simulator.MessagePublished += (_, e) => reported.Add(e.Message);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(20, reported.Count);
        foreach (var message in reported)
        {
            var decoded = TelemetryDecoder.Decode(message.Body.Span, new DecodeContext("gateway-01", message.SimulatedTime));
            Assert.True(decoded.IsClean, string.Join("; ", decoded.Errors));
            Assert.Equal(message.Samples.Count, decoded.Samples.Count);
            for (var i = 0; i < decoded.Samples.Count; i++)
            {
                Assert.Equal(message.Samples[i].MachineId, decoded.Samples[i].MachineId);
                Assert.Equal(message.Samples[i].Timestamp, decoded.Samples[i].Timestamp);
                Assert.Equal(message.Samples[i].Sequence, decoded.Samples[i].Sequence);
                Assert.Equal(message.Samples[i].Values, decoded.Samples[i].Values);
            }
        }
    }

    [Fact]
    public async Task A_limited_fast_run_ends_at_the_current_time_so_no_sample_is_in_the_future()
    {
        var before = DateTimeOffset.UtcNow;
        var client = new RecordingMqttClient();
        var simulator = Create(client, o => { o.Start = null; o.MessageLimit = 600; o.Burst = true; });
        var times = new System.Collections.Concurrent.ConcurrentBag<DateTimeOffset>();
        simulator.MessagePublished += (_, e) => times.Add(e.Message.SimulatedTime);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.InRange(times.Max(), before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.Equal(TimeSpan.FromSeconds(599), times.Max() - times.Min());
    }

    [Fact]
    public async Task Counters_report_messages_samples_and_values_sent()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        // 5 original machines with 3+2+3+2+2 sensors and 3 pumps with 7 each.
        Assert.Equal(new DeviceSimulatorCounters(5, 5 * 8, 5 * (12 + 21), 0), simulator.Counters);
    }

    [Fact]
    public async Task Body_sent_is_the_encoding_of_the_reported_samples()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client);
        var reported = new List<SimulatedMessage>();
        simulator.MessagePublished += (_, e) => reported.Add(e.Message);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(5, reported.Count);
        Assert.Equal(
            reported.Select(m => TelemetryEncoder.Encode(m.Samples, "gw-hall-1")),
            client.Published.Select(p => p.Payload.ToArray()));
    }

    [Fact]
    public async Task Malformed_messages_are_flagged_and_counted()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client, o =>
        {
            o.MessageLimit = 400;
            o.MalformedRate = 0.25;
            o.Burst = true;
            o.MaxInFlight = 1;
        });
        var reported = new List<SimulatedMessage>();
        simulator.MessagePublished += (_, e) => reported.Add(e.Message);

        await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        var malformed = reported.Where(m => m.Malformed is not null).ToList();
        Assert.InRange(malformed.Count, 60, 140);
        Assert.Equal(Enum.GetValues<MalformedKind>(), malformed.Select(m => m.Malformed!.Value).Distinct().Order());
        Assert.All(malformed, m => Assert.Equal(m.Malformed!.Value, Classify(m.Body)));
        Assert.All(reported.Where(m => m.Malformed is null), m => Assert.Null(Classify(m.Body)));
        // Ingest's decoder agrees: every malformed message has errors, every other one is clean.
        Assert.All(reported, m => Assert.Equal(
            m.Malformed is null,
            TelemetryDecoder.Decode(m.Body.Span, new DecodeContext("gateway-01", m.SimulatedTime)).IsClean));
        var counters = simulator.Counters;
        Assert.Equal(400, counters.MessagesSent);
        Assert.Equal(malformed.Count, counters.MalformedSent);
        Assert.Equal((400 - malformed.Count) * 8, counters.SamplesSent);
    }

    [Fact]
    public async Task Malformed_choice_is_reproducible_for_a_seed()
    {
        async Task<List<MalformedKind?>> RunOnceAsync()
        {
            var simulator = Create(new RecordingMqttClient(), o => { o.MessageLimit = 50; o.MalformedRate = 0.5; o.Burst = true; o.MaxInFlight = 1; });
            var kinds = new List<MalformedKind?>();
            simulator.MessagePublished += (_, e) => kinds.Add(e.Message.Malformed);
            await simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout);
            return kinds;
        }

        Assert.Equal(await RunOnceAsync(), await RunOnceAsync());
    }

    [Fact]
    public async Task Burst_mode_keeps_at_most_the_configured_publishes_in_flight()
    {
        var client = new RecordingMqttClient(holdAcks: true);
        var simulator = Create(client, o => { o.MessageLimit = 100; o.Burst = true; o.MaxInFlight = 4; });

        var run = simulator.RunAsync(CancellationToken.None);
        await WaitUntilAsync(() => client.Held == 4);
        while (!run.IsCompleted)
        {
            client.ReleaseAll();
            await WaitUntilAsync(() => client.Held > 0 || run.IsCompleted);
        }
        await run.WaitAsync(Timeout);

        Assert.Equal(4, client.MaxInFlight);
        Assert.Equal(100, client.Published.Count);
        Assert.Equal(100, simulator.Counters.MessagesSent);
        // Every machine's sequence numbers are 0..99 exactly once, whatever order the acks came in.
        var sequences = client.Published
            .SelectMany(p => JsonDocument.Parse(p.Payload).RootElement.GetProperty("machines").EnumerateArray()
                .Where(m => m.GetProperty("machineId").GetString() == "PUMP_002")
                .Select(m => m.GetProperty("seq").GetInt64()))
            .Order();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), sequences);
    }

    [Fact]
    public async Task Cancelling_an_unlimited_run_ends_it_normally()
    {
        var client = new RecordingMqttClient();
        var simulator = Create(client, o => { o.MessageLimit = null; o.Interval = TimeSpan.FromSeconds(1); o.SpeedUp = 100; });
        using var cancellation = new CancellationTokenSource();

        var run = simulator.RunAsync(cancellation.Token);
        await WaitUntilAsync(() => simulator.Counters.MessagesSent >= 3);
        await cancellation.CancelAsync();
        await run.WaitAsync(Timeout);

        Assert.True(run.IsCompletedSuccessfully);
        Assert.Equal(client.Published.Count, simulator.Counters.MessagesSent);
    }

    [Fact]
    public async Task Cancelling_a_burst_run_ends_it_normally()
    {
        var simulator = Create(new RecordingMqttClient(), o => { o.MessageLimit = null; o.Burst = true; });
        using var cancellation = new CancellationTokenSource();

        var run = simulator.RunAsync(cancellation.Token);
        await WaitUntilAsync(() => simulator.Counters.MessagesSent >= 100);
        await cancellation.CancelAsync();
        await run.WaitAsync(Timeout);

        Assert.True(run.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_failed_publish_ends_the_run_with_its_error()
    {
        var client = new RecordingMqttClient { FailAfter = 10 };
        var simulator = Create(client, o => { o.MessageLimit = 1000; o.Burst = true; o.MaxInFlight = 8; });

        var error = await Assert.ThrowsAsync<MqttException>(() => simulator.RunAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal("connection lost", error.Message);
        Assert.InRange(simulator.Counters.MessagesSent, 10, 17);
    }

    [Fact]
    public void Invalid_options_are_refused_at_construction()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(
            () => Create(new RecordingMqttClient(), o => o.MalformedRate = 1.5));
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(
            () => Create(new RecordingMqttClient(), o => o.DeviceId = ""));
    }

    /// <summary>What is wrong with a v1 body, judged independently of the simulator's own bookkeeping.</summary>
    private static MalformedKind? Classify(ReadOnlyMemory<byte> body)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return MalformedKind.InvalidJson;
        }
        using (json)
        {
            foreach (var machine in json.RootElement.GetProperty("machines").EnumerateArray())
            {
                if (!machine.TryGetProperty("timestamp", out _))
                {
                    return MalformedKind.MissingTimestamp;
                }
                foreach (var value in machine.GetProperty("values").EnumerateObject())
                {
                    if (value.Value.ValueKind != JsonValueKind.Number)
                    {
                        return MalformedKind.NonNumericValue;
                    }
                    if (value.Value.GetDouble() < -273.15)
                    {
                        return MalformedKind.ValueOutOfRange;
                    }
                }
            }
        }
        return null;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), timeout.Token);
        }
    }
}
