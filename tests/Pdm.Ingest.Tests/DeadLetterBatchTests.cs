using System.Text;

namespace Pdm.Ingest.Tests;

public sealed class DeadLetterBatchTests
{
    [Fact]
    public void Text_and_binary_bodies_survive_parking_unchanged()
    {
        byte[] raw = [0x7B, 0xFF, 0x00, 0x7D];
        var batch = new DeadLetterBatch
        {
            ParkedAt = DateTimeOffset.UnixEpoch, Reason = "r",
            Events =
            [
                new IncomingEvent { Body = "{\"a\":1}\0", DeviceId = "d", EnqueuedTime = DateTimeOffset.UnixEpoch },
                new IncomingEvent { Body = "{\uFFFD\0}", RawBody = raw, DeviceId = "d", EnqueuedTime = DateTimeOffset.UnixEpoch },
            ],
        };

        var json = batch.ToJson();
        var back = DeadLetterBatch.FromJson(json);

        Assert.True(back.Events[0].RawBody is null, Encoding.UTF8.GetString(json));
        Assert.Equal("{\"a\":1}\0", back.Events[0].Body);
        Assert.Equal(raw, back.Events[1].RawBody);
        Assert.Equal(batch.Events[1].Body, back.Events[1].Body);
    }
}
