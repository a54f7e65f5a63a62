using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Pdm.Edge.Configuration;
using Pdm.Telemetry;

namespace Pdm.Edge.Sources;

/// <summary>
/// Turns one JSON payload into one machine's reading with compiled sensor paths. Shared by the MQTT and HTTP
/// sources so a payload maps the same way whichever way it arrived.
/// </summary>
/// <remarks>
/// A missing path or a null value skips that sensor (not every message carries every value); a value that is not a
/// number rejects the payload, as does a payload that yields no value at all. The optional timestamp is an ISO-8601
/// string with a UTC offset or a number of Unix epoch milliseconds.
/// </remarks>
public static class JsonReadingMapper
{
    public static bool TryMap(JsonElement payload, string machineId, JsonPathExpression? timestampPath, IReadOnlyList<SensorMapping> sensors,
        DateTimeOffset receivedAt, [NotNullWhen(true)] out SourceReading? reading, out string error)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        reading = null;
        var timestamp = receivedAt;
        if (timestampPath is not null && !TryReadTimestamp(payload, timestampPath, out timestamp, out error))
        {
            return false;
        }

        var values = new List<SensorValue>(sensors.Count);
        foreach (var sensor in sensors)
        {
            var found = sensor.Path.Evaluate(payload);
            switch (found.Kind)
            {
                case PathValueKind.Number:
                    if (!TryConvert(sensor, found.Value, out var value, out error))
                    {
                        return false;
                    }
                    values.Add(new SensorValue(sensor.Sensor, value));
                    break;
                case PathValueKind.Invalid:
                    error = $"{sensor.Sensor}: {found.Problem}";
                    return false;
                default:
                    break;
            }
        }
        if (values.Count == 0)
        {
            error = $"no sensor value found (looked for {string.Join(", ", sensors.Select(s => s.Path.Text))})";
            return false;
        }

        reading = new SourceReading(machineId, timestamp, values);
        error = "";
        return true;
    }

    private static bool TryConvert(SensorMapping sensor, double raw, out double value, out string error)
    {
        var scaled = raw * sensor.Scale + sensor.Offset;
        value = scaled;
        error = "";
        if (sensor.Unit is null || sensor.CatalogUnit is null)
        {
            return true;
        }
        // The parser checked the units convert; this only fails if the converter's table changed under us.
        if (!UnitConverter.TryConvert(scaled, sensor.Unit, sensor.CatalogUnit, out value))
        {
            error = $"{sensor.Sensor}: unit '{sensor.Unit}' cannot be converted to {sensor.CatalogUnit}";
            return false;
        }
        return true;
    }

    private static bool TryReadTimestamp(JsonElement payload, JsonPathExpression path, out DateTimeOffset timestamp, out string error)
    {
        timestamp = default;
        if (!path.TrySelect(payload, out var element))
        {
            error = $"no timestamp at {path.Text}";
            return false;
        }
        if (element.ValueKind == JsonValueKind.Number)
        {
            if (element.TryGetInt64(out var milliseconds) && milliseconds is >= 0 and <= 253_402_300_799_999)
            {
                timestamp = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
                error = "";
                return true;
            }
            error = $"timestamp {element.GetRawText()} at {path.Text} is not a whole number of Unix epoch milliseconds";
            return false;
        }
        if (element.ValueKind == JsonValueKind.String)
        {
            var text = element.GetString()!;
            if (HasOffset(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out timestamp))
            {
                timestamp = timestamp.ToUniversalTime();
                error = "";
                return true;
            }
            error = $"timestamp '{text}' at {path.Text} is not an ISO-8601 date-time with UTC offset (like 2026-11-21T08:15:00.250Z)";
            return false;
        }
        error = $"timestamp at {path.Text} is neither an ISO-8601 string nor epoch milliseconds";
        return false;
    }

    /// <summary>Local times without an offset are ambiguous at the gateway's clock change; insist on Z or ±hh:mm.</summary>
    private static bool HasOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.Ordinal);
        if (t < 0)
        {
            return false;
        }
        var time = text.AsSpan(t);
        return time.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || time.LastIndexOfAny('+', '-') > 0;
    }
}
