namespace Pdm.Infra.Tests;

internal static class Problems
{
    /// <summary>Fails naming every item found, with what is wrong with them.</summary>
    public static void None(IEnumerable<string> items, string what)
    {
        var found = items.ToList();
        Assert.True(found.Count == 0, $"{what}: {string.Join(", ", found)}");
    }
}
