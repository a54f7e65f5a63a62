using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pdm.Edge.Configuration;

/// <summary>What a path expression found in a payload.</summary>
public enum PathValueKind
{
    /// <summary>A finite number (from a number, a numeric string or a boolean).</summary>
    Number,
    /// <summary>The path leads nowhere in this payload.</summary>
    Missing,
    /// <summary>The value is JSON null: the sensor was not read this time.</summary>
    Null,
    /// <summary>Something that is not a number (an object, an array, text).</summary>
    Invalid,
}

/// <summary>The outcome of evaluating a path: a number, or why there is none.</summary>
public readonly record struct PathValue(PathValueKind Kind, double Value, string? Problem);

/// <summary>
/// A tiny JSONPath subset that points at one value: <c>$.a.b[0].c</c>, <c>a.b[0]</c>, <c>$['key with space'].x</c>,
/// <c>data[-1]</c> (last element) or <c>$</c> (the payload itself). Compiled once when the configuration loads.
/// </summary>
/// <remarks>
/// Names after a dot may hold any character except whitespace, <c>. [ ] ' "</c>; other keys go in brackets with single
/// or double quotes, where <c>\</c> escapes the quote or a backslash. Evaluation accepts numbers, numeric strings
/// (invariant culture, like <c>"21.5"</c> or <c>"1e3"</c>) and booleans (true = 1, false = 0); see docs/edge-configuration.md.
/// </remarks>
public sealed class JsonPathExpression
{
    private readonly Segment[] _segments;

    private JsonPathExpression(string text, Segment[] segments)
    {
        Text = text;
        _segments = segments;
    }

    public string Text { get; }

    public override string ToString() => Text;

    /// <summary>Compiles <paramref name="text"/>; on failure <paramref name="error"/> says where and why.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out JsonPathExpression? expression, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        expression = null;
        var segments = new List<Segment>();
        var i = 0;
        if (text.Length == 0)
        {
            error = "path expression is empty; use '$' for the whole payload";
            return false;
        }
        if (text[0] == '$')
        {
            i = 1;
        }
        else if (text[0] != '[')
        {
            // A leading name without '$.' ("a.b[0]") reads like a property of the root.
            if (!TryReadName(text, ref i, out var first, out error))
            {
                return false;
            }
            segments.Add(new Segment(first, 0));
        }

        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                i++;
                if (!TryReadName(text, ref i, out var name, out error))
                {
                    return false;
                }
                segments.Add(new Segment(name, 0));
            }
            else if (c == '[')
            {
                if (!TryReadBracket(text, ref i, out var segment, out error))
                {
                    return false;
                }
                segments.Add(segment);
            }
            else
            {
                error = $"unexpected '{c}' at position {i + 1} of '{text}'; expected '.name', '[index]' or ['key']";
                return false;
            }
        }

        expression = new JsonPathExpression(text, [.. segments]);
        error = "";
        return true;
    }

    /// <summary>Finds the element the path points at; false when some step is missing.</summary>
    public bool TrySelect(JsonElement root, out JsonElement value) => TrySelect(root, out value, out _);

    /// <summary>Finds the value and reads it as a number.</summary>
    public PathValue Evaluate(JsonElement root)
    {
        if (!TrySelect(root, out var element, out var missing))
        {
            return new PathValue(PathValueKind.Missing, 0, missing);
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.TryGetDouble(out var number) && double.IsFinite(number)
                    ? new PathValue(PathValueKind.Number, number, null)
                    : new PathValue(PathValueKind.Invalid, 0, $"{Text} is {element.GetRawText()}, not a finite number");
            case JsonValueKind.String:
                var text = element.GetString()!;
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed)
                    ? new PathValue(PathValueKind.Number, parsed, null)
                    : new PathValue(PathValueKind.Invalid, 0, $"{Text} is the string \"{Shorten(text)}\", not a number");
            case JsonValueKind.True:
                return new PathValue(PathValueKind.Number, 1, null);
            case JsonValueKind.False:
                return new PathValue(PathValueKind.Number, 0, null);
            case JsonValueKind.Null:
                return new PathValue(PathValueKind.Null, 0, null);
            default:
                return new PathValue(PathValueKind.Invalid, 0, $"{Text} is {Describe(element.ValueKind)}, not a number");
        }
    }

    private bool TrySelect(JsonElement root, out JsonElement value, out string missing)
    {
        value = root;
        for (var s = 0; s < _segments.Length; s++)
        {
            var segment = _segments[s];
            if (segment.Name is { } name)
            {
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out var child))
                {
                    missing = $"{Text}: no '{name}' in {Describe(value.ValueKind)} at step {s + 1}";
                    return false;
                }
                value = child;
            }
            else
            {
                var length = value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() : -1;
                var index = segment.Index < 0 ? length + segment.Index : segment.Index;
                if (length < 0 || index < 0 || index >= length)
                {
                    missing = length < 0
                        ? $"{Text}: index [{segment.Index}] applied to {Describe(value.ValueKind)} at step {s + 1}"
                        : $"{Text}: index [{segment.Index}] outside an array of {length} at step {s + 1}";
                    return false;
                }
                value = value[index];
            }
        }
        missing = "";
        return true;
    }

    private static bool TryReadName(string text, ref int i, [NotNullWhen(true)] out string? name, out string error)
    {
        var start = i;
        while (i < text.Length && !IsNameBreak(text[i]))
        {
            i++;
        }
        if (i == start)
        {
            name = null;
            error = i < text.Length
                ? $"expected a name at position {i + 1} of '{text}', found '{text[i]}' (quote unusual keys: ['my key'])"
                : $"expected a name at the end of '{text}'";
            return false;
        }
        name = text[start..i];
        error = "";
        return true;
    }

    private static bool TryReadBracket(string text, ref int i, out Segment segment, out string error)
    {
        var open = i;
        i++; // past '['
        segment = default;
        if (i < text.Length && text[i] is '\'' or '"')
        {
            var quote = text[i++];
            var key = new StringBuilder();
            while (i < text.Length && text[i] != quote)
            {
                if (text[i] == '\\' && i + 1 < text.Length && (text[i + 1] == quote || text[i + 1] == '\\'))
                {
                    i++;
                }
                key.Append(text[i++]);
            }
            if (i + 1 >= text.Length || text[i + 1] != ']')
            {
                error = $"quoted key opened at position {open + 2} of '{text}' is not closed with {quote}]";
                return false;
            }
            i += 2;
            segment = new Segment(key.ToString(), 0);
            error = "";
            return true;
        }

        var close = text.IndexOf(']', i);
        if (close < 0)
        {
            error = $"'[' at position {open + 1} of '{text}' is not closed";
            return false;
        }
        var inner = text[i..close];
        if (!int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
        {
            error = $"'[{inner}]' at position {open + 1} of '{text}' is neither an index like [0] or [-1] nor a quoted key like ['name']";
            return false;
        }
        i = close + 1;
        segment = new Segment(null, index);
        error = "";
        return true;
    }

    private static bool IsNameBreak(char c) => c is '.' or '[' or ']' or '\'' or '"' || char.IsWhiteSpace(c);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "...");

    /// <summary>A property name, or an array index when <see cref="Name"/> is null.</summary>
    private readonly record struct Segment(string? Name, int Index);
}
