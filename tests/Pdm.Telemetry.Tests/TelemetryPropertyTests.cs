using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using static Pdm.Telemetry.Tests.Messages;

namespace Pdm.Telemetry.Tests;

public sealed class TelemetryPropertyTests
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(500);

    private static readonly char[] IdChars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-".ToCharArray();

    private static readonly char[] NameChars = "abcdefghijklmnopqrstuvwxyz0123456789_".ToCharArray();

    private static readonly string[] JsonTokens =
    [
        "{", "}", "[", "]", ":", ",", " ", "\"schema\"", "\"pdm.telemetry.v1\"", "\"pdm.telemetry.v2\"", "\"machines\"",
        "\"machineId\"", "\"EG_M001\"", "\"timestamp\"", "\"ts\"", "\"2026-11-21T08:15:00.250Z\"", "\"2026-11-21T08:15:00\"",
        "\"seq\"", "\"values\"", "\"units\"", "\"temperature\"", "\"degF\"", "\"Temp\"", "\"gateway\"", "0", "1", "-1",
        "1.5", "1e999", "-0", "1795248900250", "99999999999999999999", "null", "true", "false", "\"\"", "\"\\u00e9\"",
        "\"\\ud800\"", "\"\\u0000\"", "\"x", "\\", "\"", "\u00e9", "\uFEFF",
    ];

    [Fact]
    public void Arbitrary_bytes_never_make_decode_throw()
    {
        Check.One(Runs, Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes => Accounted(TelemetryDecoder.Decode(bytes, Context))));
    }

    [Fact]
    public void Arbitrary_strings_never_make_decode_throw()
    {
        Check.One(Runs, Prop.ForAll(ArbMap.Default.ArbFor<string>(), text => text is null || Accounted(Decode(text))));
    }

    [Fact]
    public void Json_like_token_soup_never_makes_decode_throw()
    {
        var soup = Gen.ListOf(Gen.Elements(JsonTokens)).Select(string.Concat).ToArbitrary();

        Check.One(Runs, Prop.ForAll(soup, text => Accounted(Decode(text))));
    }

    [Fact]
    public void Damaged_valid_messages_never_make_decode_throw()
    {
        var damaged =
            from samples in SamplesGen
            from seed in Gen.Choose(0, int.MaxValue)
            select Damage(TelemetryEncoder.Encode(samples, "gw1"), new Random(seed));

        Check.One(Runs, Prop.ForAll(damaged.ToArbitrary(), bytes => Accounted(TelemetryDecoder.Decode(bytes, Context))));
    }

    [Fact]
    public void Valid_samples_round_trip_through_encode_and_decode()
    {
        Check.One(Runs, Prop.ForAll(SamplesGen.ToArbitrary(), samples =>
        {
            var result = TelemetryDecoder.Decode(TelemetryEncoder.Encode(samples, "plant7-gw1"), Context);
            return result.IsClean && result.GatewayId == "plant7-gw1" && SameSamples(samples, result.Samples);
        }));
    }

    [Fact]
    public void One_invalid_sample_does_not_drop_the_others()
    {
        var cases =
            from samples in Gen.Choose(2, 8).SelectMany(n => Gen.ListOf(SampleGen, n))
            from index in Gen.Choose(0, samples.Count - 1)
            from mutation in Gen.Choose(0, Mutations.Length - 1)
            select (Samples: samples.ToList(), Index: index, Mutation: mutation);

        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var message = JsonNode.Parse(TelemetryEncoder.Encode(c.Samples))!;
            var machines = message["machines"]!.AsArray();
            machines[c.Index] = Mutations[c.Mutation](machines[c.Index]!.DeepClone().AsObject());

            var result = TelemetryDecoder.Decode(Encoding.UTF8.GetBytes(message.ToJsonString()), Context);

            var badPath = $"machines[{c.Index}]";
            var expected = c.Samples.Where((_, i) => i != c.Index).ToList();
            return result.Errors.Count > 0
                && result.Errors.All(e => e.Path == badPath || e.Path.StartsWith(badPath + ".", StringComparison.Ordinal))
                && SameSamples(expected, result.Samples);
        }));
    }

    /// <summary>Each turns a valid machine sample into one the decoder must reject.</summary>
    private static readonly Func<JsonObject, JsonNode>[] Mutations =
    [
        s => Set(s, "machineId", "bad id!"),
        s => Set(s, "machineId", new string('m', 65)),
        s => Set(s, "timestamp", "2099-01-01T00:00:00Z"),
        s => Set(s, "timestamp", "1999-12-31T23:59:59Z"),
        s => Set(s, "timestamp", "not a time"),
        s => Set(s, "seq", -1),
        s => Set(s, "seq", 1.5),
        s => SetValue(s, "temperature", 9999),
        s => SetValue(s, "Bad Name", 1),
        s => SetValue(s, "label_text", "text"),
        s => Set(s, "values", new JsonObject()),
        s => Set(s, "values", new JsonArray(1, 2)),
        s => { s.Remove("values"); return s; },
        s => { s.Remove("machineId"); return s; },
        s => Set(SetValue(s, "pressure", 1), "units", new JsonObject { ["pressure"] = "degX" }),
        _ => JsonValue.Create(42),
    ];

    private static JsonObject Set(JsonObject sample, string name, JsonNode? value)
    {
        sample[name] = value;
        return sample;
    }

    private static JsonObject SetValue(JsonObject sample, string sensor, JsonNode? value)
    {
        sample["values"]!.AsObject()[sensor] = value;
        return sample;
    }

    private static Gen<string> IdGen =>
        Gen.Choose(1, 64).SelectMany(n => Gen.ArrayOf(Gen.Elements(IdChars), n)).Select(c => new string(c));

    private static Gen<DateTimeOffset> TimestampGen =>
        from days in Gen.Choose(0, (int)(EnqueuedTime - TelemetryDecoder.EarliestTimestamp).TotalDays)
        from milliseconds in Gen.Choose(0, 86_399_999)
        from offsetMinutes in Gen.Choose(-14 * 60, 14 * 60)
        let utc = TelemetryDecoder.EarliestTimestamp.AddDays(days).AddMilliseconds(milliseconds)
        select (utc > EnqueuedTime ? EnqueuedTime : utc).ToOffset(TimeSpan.FromMinutes(offsetMinutes));

    private static Gen<long> SequenceGen =>
        Gen.OneOf(
            Gen.Choose(0, 100_000).Select(v => (long)v),
            ArbMap.Default.GeneratorFor<long>().Select(v => v & long.MaxValue),
            Gen.Elements(0L, long.MaxValue));

    private static Gen<double> AnyFiniteDouble =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<double>(),
            ArbMap.Default.GeneratorFor<long>().Select(BitConverter.Int64BitsToDouble))
        .Where(double.IsFinite);

    private static Gen<SensorValue> CatalogValueGen =>
        from definition in Gen.Elements(SensorCatalog.All.ToArray())
        from fraction in Gen.Choose(0, 1_000_000)
        select new SensorValue(definition.Name, definition.Min + ((definition.Max - definition.Min) * fraction / 1_000_000));

    private static Gen<SensorValue> CustomValueGen =>
        from first in Gen.Elements("abcdefghijklmnopqrstuvwxyz".ToCharArray())
        from rest in Gen.Choose(0, 62).SelectMany(n => Gen.ArrayOf(Gen.Elements(NameChars), n))
        from value in AnyFiniteDouble
        let name = first + new string(rest)
        where !SensorCatalog.TryGet(name, out _)
        select new SensorValue(name, value);

    private static Gen<SensorValue[]> ValuesGen =>
        Gen.NonEmptyListOf(Gen.Frequency((3, CatalogValueGen), (1, CustomValueGen)))
            .Select(values => values.DistinctBy(v => v.Sensor).Take(TelemetryDecoder.MaxValuesPerSample).ToArray());

    private static Gen<MachineSample> SampleGen =>
        from id in IdGen
        from timestamp in TimestampGen
        from sequence in SequenceGen
        from values in ValuesGen
        select new MachineSample { MachineId = id, Timestamp = timestamp, Sequence = sequence, Values = values };

    private static Gen<List<MachineSample>> SamplesGen => Gen.NonEmptyListOf(SampleGen).Select(s => s.ToList());

    /// <summary>Every message ends as samples, errors or both; never as nothing.</summary>
    private static bool Accounted(DecodeResult result) =>
        (result.Samples.Count > 0 || result.Errors.Count > 0) && result.Errors.All(e => e.Reason.Length > 0);

    private static bool SameSamples(List<MachineSample> expected, List<MachineSample> actual) =>
        expected.Count == actual.Count && expected.Zip(actual).All(p =>
            p.First.MachineId == p.Second.MachineId
            && p.First.Timestamp.UtcDateTime == p.Second.Timestamp.UtcDateTime
            && p.First.Sequence == p.Second.Sequence
            && p.First.Values.Count == p.Second.Values.Count
            && p.First.Values.Zip(p.Second.Values).All(v =>
                v.First.Sensor == v.Second.Sensor
                && BitConverter.DoubleToInt64Bits(v.First.Value) == BitConverter.DoubleToInt64Bits(v.Second.Value)));

    /// <summary>Flips, drops, inserts or cuts bytes of a valid message.</summary>
    private static byte[] Damage(byte[] message, Random random)
    {
        var bytes = message.ToList();
        for (var i = random.Next(1, 4); i > 0 && bytes.Count > 0; i--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    var structural = "{}[]\",:\\0-e."u8;
                    bytes.Insert(at, structural[random.Next(structural.Length)]);
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }
        return [.. bytes];
    }
}
