using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Pdm.Edge.Queue;

/// <summary>
/// The queue's head (first unacknowledged position) and each stream's last sequence number, replaced atomically
/// (write a temporary file, then rename over the old one). Ends with a CRC-32 of everything before it.
/// </summary>
internal sealed record Checkpoint(long Head, IReadOnlyDictionary<string, long> LastSequences)
{
    private const string FileName = "checkpoint";
    private const int Magic = 0x51_4D_44_50; // "PDMQ"
    private const int Version = 1;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>Removes a temporary file a killed process left behind; the checkpoint it was to replace still holds.</summary>
    public static void RemoveUnfinished(string directory) => File.Delete(PathIn(directory) + ".tmp");

    public static void Write(string directory, long head, IReadOnlyDictionary<string, long> lastSequences, bool flushToDisk)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(head);
            writer.Write(lastSequences.Count);
            foreach (var (stream, sequence) in lastSequences)
            {
                writer.Write(stream);
                writer.Write(sequence);
            }
        }

        var length = (int)buffer.Length;
        buffer.Write(stackalloc byte[4]);
        var bytes = buffer.GetBuffer().AsSpan(0, length + 4);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[length..], Crc32.HashToUInt32(bytes[..length]));

        var path = PathIn(directory);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1))
        {
            file.Write(bytes);
            file.Flush(flushToDisk);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The checkpoint in <paramref name="directory"/>; null with a null problem when there is none yet.</summary>
    public static Checkpoint? Read(string directory, out string? problem)
    {
        problem = null;
        var path = PathIn(directory);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 24 || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) != Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4)))
        {
            problem = $"{bytes.Length} bytes with a CRC that does not match";
            return null;
        }

        using var reader = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 4), Encoding.UTF8);
        if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version)
        {
            problem = "not a queue checkpoint of version 1";
            return null;
        }

        var head = reader.ReadInt64();
        var count = reader.ReadInt32();
        var lastSequences = new Dictionary<string, long>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            lastSequences[reader.ReadString()] = reader.ReadInt64();
        }

        return new Checkpoint(head, lastSequences);
    }
}
