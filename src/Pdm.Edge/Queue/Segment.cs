using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Pdm.Edge.Queue;

/// <summary>
/// One append-only file of records, named after the queue position of its first byte, so positions keep growing
/// across files and restarts.
/// </summary>
internal sealed class Segment(string path, long baseOffset, long length) : IDisposable
{
    private const string Extension = ".seg";

    private SafeFileHandle? _handle;

    public string Path { get; } = path;

    public long Base { get; } = baseOffset;

    /// <summary>Bytes of complete records in the file.</summary>
    public long Length { get; set; } = length;

    public long End => Base + Length;

    /// <summary>Opened on first use: a backed-up queue has many segments, but only its head and tail are read.</summary>
    public SafeFileHandle Handle =>
        _handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);

    public static Segment Create(string directory, long baseOffset)
    {
        var path = System.IO.Path.Combine(directory, baseOffset.ToString("D20", CultureInfo.InvariantCulture) + Extension);
        var segment = new Segment(path, baseOffset, 0)
        {
            _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read),
        };
        return segment;
    }

    public static IEnumerable<Segment> Find(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*" + Extension)
            .Select(path => (Path: path, Name: System.IO.Path.GetFileNameWithoutExtension(path)))
            .Where(f => f.Name.Length == 20 && long.TryParse(f.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(f => new Segment(f.Path, long.Parse(f.Name, CultureInfo.InvariantCulture), new FileInfo(f.Path).Length))
            .OrderBy(s => s.Base);

    public void ReadExactly(Span<byte> into, long position)
    {
        var offset = position - Base;
        while (!into.IsEmpty)
        {
            var read = RandomAccess.Read(Handle, into, offset);
            if (read == 0)
            {
                throw new InvalidDataException($"Queue segment {Path} ends at {offset}, inside a record");
            }

            into = into[read..];
            offset += read;
        }
    }

    public void Append(ReadOnlySpan<byte> record)
    {
        RandomAccess.Write(Handle, record, Length);
        Length += record.Length;
    }

    public void Truncate(long length)
    {
        RandomAccess.SetLength(Handle, length);
        Length = length;
    }

    public void FlushToDisk() => RandomAccess.FlushToDisk(Handle);

    public void CloseHandle()
    {
        _handle?.Dispose();
        _handle = null;
    }

    public void Delete()
    {
        CloseHandle();
        File.Delete(Path);
    }

    public void Dispose() => CloseHandle();
}
