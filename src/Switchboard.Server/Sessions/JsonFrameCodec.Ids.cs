using System.Text.Json;

namespace Switchboard.Server.Sessions;

internal sealed partial class JsonFrameCodec
{
    /// <summary>
    /// The id of a refused frame whose <c>id</c> comes after the part that was refused (a JSON object's members have no
    /// order, so <c>{"publish": {…}, "id": "7"}</c> is as good a frame as the other way round): its answer carries it
    /// too. Looks only at the top level; null when there is none, or when the JSON breaks before it.
    /// </summary>
    private static string? LateId(ReadOnlySpan<byte> frame)
    {
        string? id = null;
        try
        {
            var reader = new Utf8JsonReader(frame, Reading);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.String)
                {
                    id = reader.GetString();
                }
                else if (isId && reader.TokenType == JsonTokenType.Number)
                {
                    id = System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // broken after the id (if any): what was read stands
        }
        return id;
    }
}
