using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using MQTTnet;

namespace Pdm.Edge.Configuration;

/// <summary>An MQTT topic filter: levels split by '/', '+' matches one level, '#' (last) matches the rest.</summary>
public sealed class MqttTopicFilter
{
    private readonly string[] _levels;
    private readonly bool _plusBeforeAnotherLevel;

    private MqttTopicFilter(string text, string[] levels)
    {
        Text = text;
        _levels = levels;
        _plusBeforeAnotherLevel = levels.AsSpan(0, levels.Length - 1).Contains("+");
    }

    public string Text { get; }

    /// <summary>Levels before a trailing '#': the ones every matching topic has.</summary>
    public int FixedLevelCount => _levels[^1] == "#" ? _levels.Length - 1 : _levels.Length;

    public override string ToString() => Text;

    public static bool TryParse(string text, [NotNullWhen(true)] out MqttTopicFilter? filter, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        filter = null;
        if (text.Length == 0)
        {
            error = "topic filter is empty";
            return false;
        }
        if (Encoding.UTF8.GetByteCount(text) > 65535 || text.Contains('\0', StringComparison.Ordinal))
        {
            error = "topic filter is longer than 65535 bytes or contains a NUL character";
            return false;
        }
        var levels = text.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1))
            {
                error = $"'#' in topic filter '{text}' must be a whole level and the last one (like 'plant/#')";
                return false;
            }
            if (level.Contains('+', StringComparison.Ordinal) && level != "+")
            {
                error = $"'+' in topic filter '{text}' must be a whole level (like 'plant/+/telemetry'), not part of '{level}'";
                return false;
            }
        }
        filter = new MqttTopicFilter(text, levels);
        error = "";
        return true;
    }

    /// <summary>Whether <paramref name="topic"/> matches; wildcards at the first level skip '$' topics, as brokers do.</summary>
    /// <remarks>
    /// MQTTnet's <see cref="MqttTopicFilterComparer"/> decides, except for filters with a '+' before another level:
    /// there MQTTnet 5.2 differs from the MQTT spec and from Mosquitto, which deliver 'plant//telemetry' to
    /// 'plant/+/telemetry' ('+' matches an empty level) and 'plant/a' to 'plant/+/#' ('#' includes the parent level),
    /// so those filters keep the level-by-level walk below (tests pin both cases).
    /// </remarks>
    public bool Matches(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!_plusBeforeAnotherLevel)
        {
            return MqttTopicFilterComparer.Compare(topic, Text) == MqttTopicFilterCompareResult.IsMatch;
        }
        if (topic.StartsWith('$') && _levels[0] is "+" or "#")
        {
            return false;
        }
        var levels = topic.Split('/');
        for (var i = 0; i < _levels.Length; i++)
        {
            if (_levels[i] == "#")
            {
                return true;
            }
            if (i >= levels.Length || (_levels[i] != "+" && !string.Equals(_levels[i], levels[i], StringComparison.Ordinal)))
            {
                return false;
            }
        }
        return levels.Length == _levels.Length;
    }
}

/// <summary>
/// The machine id of a subscription: a fixed id (<c>EG_M001</c>) or a template that takes topic levels by their
/// 1-based position (<c>{2}</c>, <c>press-{3}</c>). The result must be a valid machine id (docs/telemetry-v1.md).
/// </summary>
public sealed class MachineIdTemplate
{
    private readonly object[] _parts; // string literals and int level numbers

    private MachineIdTemplate(string text, object[] parts)
    {
        Text = text;
        _parts = parts;
    }

    public string Text { get; }

    /// <summary>True when the id does not depend on the topic.</summary>
    public bool IsFixed => _parts.All(p => p is string);

    public override string ToString() => Text;

    /// <summary>
    /// Compiles <paramref name="text"/>; placeholders must name a level every topic matching <paramref name="filter"/>
    /// has (a level before any '#'); literal text must use machine id characters.
    /// </summary>
    public static bool TryParse(string text, MqttTopicFilter? filter, [NotNullWhen(true)] out MachineIdTemplate? template, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        template = null;
        var parts = new List<object>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{')
            {
                var close = text.IndexOf('}', i);
                if (close < 0 || !int.TryParse(text.AsSpan(i + 1, close - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var level) || level < 1)
                {
                    error = $"'{text}' has a placeholder at position {i + 1} that is not a topic level number like {{1}}";
                    return false;
                }
                if (filter is null)
                {
                    error = $"'{text}' takes a topic level, but this source has no topic; give a fixed machine id";
                    return false;
                }
                if (level > filter.FixedLevelCount)
                {
                    error = $"'{text}' takes topic level {level}, but topics matching '{filter.Text}' are only sure to have {filter.FixedLevelCount}";
                    return false;
                }
                if (literal.Length > 0)
                {
                    parts.Add(literal.ToString());
                    literal.Clear();
                }
                parts.Add(level);
                i = close;
            }
            else if (MachineIds.IsValidCharacter(c))
            {
                literal.Append(c);
            }
            else
            {
                error = $"machine id '{text}' has a character other than A-Z a-z 0-9 _ . : - at position {i + 1}";
                return false;
            }
        }
        if (literal.Length > 0)
        {
            parts.Add(literal.ToString());
        }
        if (parts.Count == 0)
        {
            error = "machine id is empty";
            return false;
        }
        if (parts.All(p => p is string) && !MachineIds.IsValid(text, out error))
        {
            return false;
        }
        template = new MachineIdTemplate(text, [.. parts]);
        error = "";
        return true;
    }

    /// <summary>The machine id for a message on <paramref name="topic"/>; false when the topic level makes no valid id.</summary>
    public bool TryResolve(string topic, [NotNullWhen(true)] out string? machineId, out string error)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (IsFixed)
        {
            machineId = Text;
            error = "";
            return true;
        }
        var levels = topic.Split('/');
        var id = new StringBuilder();
        foreach (var part in _parts)
        {
            if (part is int level)
            {
                if (level > levels.Length)
                {
                    machineId = null;
                    error = $"topic '{topic}' has no level {level} for machine id '{Text}'";
                    return false;
                }
                id.Append(levels[level - 1]);
            }
            else
            {
                id.Append((string)part);
            }
        }
        machineId = id.ToString();
        if (!MachineIds.IsValid(machineId, out error))
        {
            machineId = null;
            error = $"topic '{topic}' gives {error}";
            return false;
        }
        return true;
    }
}

/// <summary>The machine id rule of docs/telemetry-v1.md: 1..64 of <c>A-Z a-z 0-9 _ . : -</c>.</summary>
public static class MachineIds
{
    public const int MaxLength = 64;

    public static bool IsValid([NotNullWhen(true)] string? machineId, out string error)
    {
        if (string.IsNullOrEmpty(machineId))
        {
            error = "machine id is empty";
            return false;
        }
        if (machineId.Length > MaxLength)
        {
            error = $"machine id '{machineId[..40]}...' is longer than {MaxLength} characters";
            return false;
        }
        for (var i = 0; i < machineId.Length; i++)
        {
            if (!IsValidCharacter(machineId[i]))
            {
                error = $"machine id '{machineId}' has a character other than A-Z a-z 0-9 _ . : - at position {i + 1}";
                return false;
            }
        }
        error = "";
        return true;
    }

    public static bool IsValidCharacter(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or ':' or '-';
}
