using System.Text.RegularExpressions;
using Pdm.Testing;

namespace Pdm.Cli.Tests;

/// <summary>The README is a front page pointing into docs/: every relative link and #anchor there must lead somewhere.</summary>
public sealed partial class DocumentationLinkTests
{
    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md" };
        foreach (var page in Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            pages.Add(Path.GetRelativePath(RepoPaths.Root, page));
        }
        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_and_anchor_resolves(string page)
    {
        var path = Path.Combine(RepoPaths.Root, page);
        var broken = new List<string>();
        foreach (Match link in Link().Matches(File.ReadAllText(path)))
        {
            var target = link.Groups["path"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }
            var file = target.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
            if (!File.Exists(file) && !Directory.Exists(file))
            {
                broken.Add($"{link.Value}: no {Path.GetRelativePath(RepoPaths.Root, file)}");
            }
            else if (link.Groups["anchor"].Success && file.EndsWith(".md", StringComparison.Ordinal)
                     && !Anchors(file).Contains(link.Groups["anchor"].Value))
            {
                broken.Add($"{link.Value}: no heading for #{link.Groups["anchor"].Value} in {Path.GetFileName(file)}");
            }
        }
        Assert.Empty(broken);
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string file) =>
        [.. File.ReadLines(file).Select(line => Heading().Match(line)).Where(m => m.Success)
            .Select(m => NotAnchor().Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-'))];

    [GeneratedRegex(@"\]\((?<path>[^)\s#]*)(?:#(?<anchor>[^)\s]+))?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#+\s+(.*)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\w\- ]")]
    private static partial Regex NotAnchor();
}
