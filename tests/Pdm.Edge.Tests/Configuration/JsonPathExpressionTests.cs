using System.Text.Json;
using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Configuration;

public sealed class JsonPathExpressionTests
{
    private const string Payload = """
        {
          "temp": 21.5,
          "motor": { "rpm": 1480, "running": true, "stopped": false },
          "samples": [ { "v": 1 }, { "v": 2 }, { "v": 3 } ],
          "motor temp": 65,
          "it's": 7,
          "text": "21.25",
          "word": "hot",
          "nothing": null,
          "nested": { "a.b": { "c": 9 } }
        }
        """;

    [Theory]
    [InlineData("$.temp", 21.5)]
    [InlineData("temp", 21.5)]
    [InlineData("$.motor.rpm", 1480)]
    [InlineData("motor.rpm", 1480)]
    [InlineData("$.samples[0].v", 1)]
    [InlineData("samples[2].v", 3)]
    [InlineData("$.samples[-1].v", 3)]
    [InlineData("$['motor temp']", 65)]
    [InlineData("$[\"motor temp\"]", 65)]
    [InlineData("['motor temp']", 65)]
    [InlineData("$['it\\'s']", 7)]
    [InlineData("$.nested['a.b'].c", 9)]
    [InlineData("$.text", 21.25)]
    [InlineData("$.motor.running", 1)]
    [InlineData("$.motor.stopped", 0)]
    public void Path_reads_a_number(string path, double expected)
    {
        Assert.True(JsonPathExpression.TryParse(path, out var expression, out var error), error);
        using var document = JsonDocument.Parse(Payload);

        var value = expression.Evaluate(document.RootElement);

        Assert.Equal(PathValueKind.Number, value.Kind);
        Assert.Equal(expected, value.Value);
    }

    [Fact]
    public void Dollar_alone_is_the_whole_payload()
    {
        Assert.True(JsonPathExpression.TryParse("$", out var expression, out _));
        using var document = JsonDocument.Parse("42.5");

        Assert.Equal(new PathValue(PathValueKind.Number, 42.5, null), expression.Evaluate(document.RootElement));
    }

    [Theory]
    [InlineData("$.missing", PathValueKind.Missing, "no 'missing' in an object at step 1")]
    [InlineData("$.temp.x", PathValueKind.Missing, "no 'x' in a number at step 2")]
    [InlineData("$.samples[5].v", PathValueKind.Missing, "index [5] outside an array of 3 at step 2")]
    [InlineData("$.motor[0]", PathValueKind.Missing, "index [0] applied to an object at step 2")]
    [InlineData("$.nothing", PathValueKind.Null, null)]
    [InlineData("$.word", PathValueKind.Invalid, "$.word is the string \"hot\", not a number")]
    [InlineData("$.motor", PathValueKind.Invalid, "$.motor is an object, not a number")]
    [InlineData("$.samples", PathValueKind.Invalid, "$.samples is an array, not a number")]
    public void Path_without_a_number_says_why(string path, PathValueKind kind, string? problem)
    {
        Assert.True(JsonPathExpression.TryParse(path, out var expression, out _));
        using var document = JsonDocument.Parse(Payload);

        var value = expression.Evaluate(document.RootElement);

        Assert.Equal(kind, value.Kind);
        if (problem is null)
        {
            Assert.Null(value.Problem);
        }
        else
        {
            Assert.Contains(problem, value.Problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("", "path expression is empty")]
    [InlineData("$.", "expected a name at the end of '$.'")]
    [InlineData("$..a", "expected a name at position 3 of '$..a'")]
    [InlineData("$.a[", "'[' at position 4 of '$.a[' is not closed")]
    [InlineData("$.a[x]", "'[x]' at position 4 of '$.a[x]' is neither an index like [0] or [-1] nor a quoted key")]
    [InlineData("$['a", "quoted key opened at position 3 of '$['a' is not closed with ']")]
    [InlineData("$a", "unexpected 'a' at position 2 of '$a'")]
    [InlineData("$.a b", "unexpected ' ' at position 4 of '$.a b'")]
    public void Malformed_path_is_rejected_with_position(string path, string error)
    {
        Assert.False(JsonPathExpression.TryParse(path, out var expression, out var problem));
        Assert.Null(expression);
        Assert.Contains(error, problem, StringComparison.Ordinal);
    }
}
