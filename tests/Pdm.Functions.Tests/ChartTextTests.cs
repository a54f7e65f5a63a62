using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pdm.Functions.Api;

namespace Pdm.Functions.Tests;

public sealed class ChartTextTests
{
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(4.123456789, "4.12346")]
    [InlineData(4.5, "4.5")]
    [InlineData(-0.00123449, "-0.00123449")]
    [InlineData(-0.001234567, "-0.00123457")]
    [InlineData(1500.0, "1500")]
    [InlineData(62.99999999, "63")]
    [InlineData(9.9999996, "10")]
    [InlineData(1234567.8, "1234570")]
    [InlineData(0.5, "0.5")]
    [InlineData(1e-9, "0.000000001")]
    [InlineData(123456789012345.0, "123457000000000")]
    public void Values_are_written_to_six_significant_digits_without_trailing_zeros(double value, string expected)
    {
        Assert.Equal(expected, Written(value));
    }

    [Theory]
    [InlineData(1e-10)]
    [InlineData(-3.2e-12)]
    [InlineData(1e15)]
    [InlineData(-6.02e23)]
    public void Magnitudes_outside_the_scaled_range_are_written_in_full(double value)
    {
        Assert.Equal(value, double.Parse(Written(value), CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Values_that_JSON_cannot_hold_are_refused_as_before()
    {
        Assert.Throws<ArgumentException>(() => Written(double.NaN));
        Assert.Throws<ArgumentException>(() => Written(double.PositiveInfinity));
    }

    [Fact]
    public void Random_values_of_every_scale_round_trip_within_half_a_unit_of_the_sixth_digit()
    {
        var random = new Random(20261207);
        for (var i = 0; i < 200_000; i++)
        {
            var value = (random.Next(2) == 0 ? -1 : 1) * (1 + 9 * random.NextDouble()) * Math.Pow(10, random.Next(-9, 15));
            var text = Written(value);

            using var document = JsonDocument.Parse(text);
            var parsed = document.RootElement.GetDouble();
            var unit = Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(value))) - (ChartNumbers.SignificantDigits - 1));
            Assert.True(Math.Abs(parsed - value) <= unit * 0.5000001, $"{value:R} written as {text}");
            Assert.False(text.Contains('.', StringComparison.Ordinal) && text.EndsWith('0'), $"{value:R} written as {text}");
            Assert.True(SignificantDigits(text) <= ChartNumbers.SignificantDigits, $"{value:R} written as {text}");
        }
    }

    [Fact]
    public void Times_are_written_as_the_JSON_writer_writes_a_UTC_time_and_formatted_once()
    {
        var random = new Random(7);
        var times = new ChartTimes();
        var t0 = new DateTimeOffset(2026, 3, 4, 5, 0, 0, TimeSpan.Zero);
        foreach (var time in (DateTimeOffset[])[t0, t0.AddTicks(1), t0.AddMilliseconds(120), t0.AddHours(-2).ToOffset(TimeSpan.FromHours(2)),
                     .. Enumerable.Range(0, 1000).Select(_ => t0.AddTicks(random.NextInt64(TimeSpan.TicksPerDay * 400)))])
        {
            Assert.Equal(Json(w => w.WriteStringValue(time.UtcDateTime)), Json(w => w.WriteStringValue(times[time])));
        }
        Assert.Equal(times[t0].EncodedUtf8Bytes.ToArray(), times[t0.ToOffset(TimeSpan.FromHours(-5))].EncodedUtf8Bytes.ToArray());
    }

    private static int SignificantDigits(string text) => text.Replace("-", "", StringComparison.Ordinal)
        .Replace(".", "", StringComparison.Ordinal).Trim('0').Length;

    private static string Written(double value) => Json(json => ChartNumbers.Write(json, value));

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
