using Pdm.Functions.Api;

namespace Pdm.Functions.Tests;

public sealed class TextRulesTests
{
    [Theory]
    [InlineData("Plant Alpha", "Plant Alpha")]
    [InlineData("  trimmed  ", "trimmed")]
    [InlineData("Ünïcödé 工厂 🙂", "Ünïcödé 工厂 🙂")]
    public void Acceptable_names_come_back_trimmed(string input, string expected)
    {
        Assert.Null(TextRules.CheckName(input, "name", 100, out var trimmed));
        Assert.Equal(expected, trimmed);
    }

    [Theory]
    [InlineData(null, "name is required")]
    [InlineData("", "name is required")]
    [InlineData("\t \n", "name is required")]
    [InlineData("a\0b", "name contains the control character U+0000 at position 1")]
    [InlineData("a\u0007b", "control character U+0007")]
    [InlineData("a\u2028b", "control character U+2028")]
    [InlineData("abc\u202Etxt.exe", "bidirectional control U+202E at position 3")]
    [InlineData("\u2067x", "bidirectional control U+2067")]
    [InlineData("x\u200F", "bidirectional control U+200F")]
    public void Names_with_hidden_or_missing_text_are_refused_with_the_reason(string? input, string reason)
    {
        var problem = TextRules.CheckName(input, "name", 100, out _);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void Lone_surrogates_are_refused_as_invalid_unicode()
    {
        // Built in code: test-case serialization would replace a lone surrogate with U+FFFD.
        Assert.Contains("lone surrogate U+D800 at position 1", TextRules.CheckName("a" + '\uD800' + "b", "name", 100, out _));
        Assert.Contains("lone surrogate U+DC00", TextRules.CheckName("a" + '\uDC00', "name", 100, out _));
        Assert.Null(TextRules.CheckName("a" + '\uD83D' + '\uDE42', "name", 100, out _));
    }

    [Fact]
    public void Names_over_the_maximum_are_refused_with_both_lengths()
    {
        Assert.Null(TextRules.CheckName(new string('a', 100), "name", 100, out _));
        Assert.Equal("name is 101 characters long; at most 100 are allowed", TextRules.CheckName(new string('a', 101), "name", 100, out _));
    }

    [Theory]
    [InlineData("EG_M001", true)]
    [InlineData("plant:line-2.m_7", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("nul\0", false)]
    [InlineData("slash/inside", false)]
    public void Ids_take_only_id_characters(string id, bool valid) =>
        Assert.Equal(valid, TextRules.CheckId(id, "machineId", 128) is null);

    [Theory]
    [InlineData(null, 100, null)]
    [InlineData("1", 1, null)]
    [InlineData("1000", 1000, null)]
    [InlineData("0", 100, "limit must be a whole number from 1 to 1000 (got '0')")]
    [InlineData("1001", 100, "limit must be a whole number from 1 to 1000 (got '1001')")]
    [InlineData("abc", 100, "limit must be a whole number from 1 to 1000 (got 'abc')")]
    [InlineData("-1", 100, "limit must be a whole number from 1 to 1000 (got '-1')")]
    [InlineData(" 5", 100, "limit must be a whole number from 1 to 1000 (got ' 5')")]
    [InlineData("99999999999", 100, "limit must be a whole number from 1 to 1000 (got '99999999999')")]
    public void Limit_is_one_rule_for_range_and_format(string? raw, int expected, string? problem)
    {
        Assert.Equal(problem, QueryValues.Limit(raw, 100, 1000, out var limit));
        Assert.Equal(expected, limit);
    }

    [Fact]
    public void Error_messages_do_not_echo_huge_or_hidden_input()
    {
        var problem = QueryValues.Limit(new string('9', 1_000_000) + "\0", 100, 1000, out _);
        Assert.NotNull(problem);
        Assert.True(problem.Length < 200);
        Assert.DoesNotContain('\0', problem);
    }
}
