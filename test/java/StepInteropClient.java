// A Step-protocol client on Tomcat's jakarta.websocket client, the stack Step's own Java
// clients run on: uploads through getSendStream() (fragments ending with an empty FIN
// frame) and follows a resource with status-driven chunk requests. Run with the Java
// source launcher; prints one JSON line per result for the mocha test to check.
//   upload <wsBase> <file> <mimeType> <lineAccess>
//   download <uri>
import jakarta.websocket.*;
import java.io.*;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.*;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.*;
import java.util.regex.*;

public class StepInteropClient {
  static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|[^,}\\]]+)").matcher(json);
    if (!m.find()) return null;
    return m.group(2) != null ? m.group(2) : m.group(1).trim();
  }

  public static class Endpoint extends jakarta.websocket.Endpoint {
    final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    final CompletableFuture<CloseReason> closed = new CompletableFuture<>();
    @Override public void onOpen(Session session, EndpointConfig config) {
      session.addMessageHandler(String.class, inbox::add);
      session.addMessageHandler(ByteBuffer.class, inbox::add);
    }
    @Override public void onClose(Session session, CloseReason reason) { closed.complete(reason); }
    Object next() throws Exception {
      Object m = inbox.poll(30, TimeUnit.SECONDS);
      if (m == null) throw new IllegalStateException("no message within 30 s; closed=" + closed.getNow(null));
      return m;
    }
  }

  public static void main(String[] args) throws Exception {
    WebSocketContainer container = ContainerProvider.getWebSocketContainer();
    container.setDefaultMaxBinaryMessageBufferSize(64 * 1024 * 1024);
    container.setDefaultMaxTextMessageBufferSize(64 * 1024 * 1024);
    if (args[0].equals("upload")) upload(container, args[1], Paths.get(args[2]), args[3], Boolean.parseBoolean(args[4]));
    else download(container, args[1]);
  }

  static void upload(WebSocketContainer container, String base, Path file, String mime, boolean lines) throws Exception {
    Endpoint endpoint = new Endpoint();
    Session session = container.connectToServer(endpoint, ClientEndpointConfig.Builder.create().build(), URI.create(base + "/ws/streaming/upload"));
    session.getBasicRemote().sendText("{\"@\":\"StartUpload\",\"metadata\":{\"filename\":\"" + file.getFileName() + "\",\"mimeType\":\"" + mime + "\",\"supportsLineAccess\":" + lines + "}}");
    String ready = (String) endpoint.next();
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    byte[] data = Files.readAllBytes(file);
    if (data.length > 0) {
      try (OutputStream out = session.getBasicRemote().getSendStream()) {
        int first = Math.min(64, data.length); // Step's client starts with its 64-byte buffer
        out.write(data, 0, first);
        out.flush();
        for (int at = first; at < data.length; at += 8192) out.write(data, at, Math.min(8192, data.length - at));
      } // close() sends the final, empty FIN frame
      md5.update(data);
    }
    String checksum = HexFormat.of().formatHex(md5.digest());
    session.getBasicRemote().sendText("{\"@\":\"FinishUpload\",\"checksum\":\"" + checksum + "\"}");
    String ack = (String) endpoint.next();
    session.close(new CloseReason(CloseReason.CloseCodes.NORMAL_CLOSURE, "Upload completed"));
    System.out.println("{\"uri\":\"" + field(ready, "uri") + "\",\"sentChecksum\":\"" + checksum + "\",\"ackSize\":" + field(ack, "size")
        + ",\"ackChecksum\":\"" + field(ack, "checksum") + "\",\"numberOflines\":" + field(ack, "numberOflines") + "}");
  }

  static long linesOf(String status) {
    String numberOfLines = field(status, "numberOfLines");
    return numberOfLines == null || numberOfLines.equals("null") ? -1 : Long.parseLong(numberOfLines);
  }

  static void download(WebSocketContainer container, String uri) throws Exception {
    Endpoint endpoint = new Endpoint();
    Session session = container.connectToServer(endpoint, ClientEndpointConfig.Builder.create().build(), URI.create(uri));
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    long received = 0;
    long size = 0;
    String state = "";
    long lines = -1;
    while (true) {
      if (size > received) {
        session.getBasicRemote().sendText("{\"@\":\"RequestChunk\",\"startOffset\":" + received + ",\"endOffset\":" + size + "}");
        Object reply;
        while (!((reply = endpoint.next()) instanceof ByteBuffer)) {
          // A status sent before our request arrived comes before the reply: note it whole
          // (its size too: it may be the last one, COMPLETED), and ask for the rest after.
          String t = (String) reply;
          if (!"StatusChanged".equals(field(t, "@"))) throw new IllegalStateException("unexpected " + t);
          state = field(t, "transferStatus");
          size = Math.max(size, Long.parseLong(field(t, "currentSize")));
          lines = linesOf(t);
        }
        ByteBuffer bytes = (ByteBuffer) reply;
        received += bytes.remaining();
        md5.update(bytes);
        continue;
      }
      if ((state.equals("COMPLETED") || state.equals("FAILED")) && received >= size) break;
      Object message = endpoint.next();
      if (!(message instanceof String text) || !"StatusChanged".equals(field(text, "@"))) throw new IllegalStateException("unexpected " + message);
      state = field(text, "transferStatus");
      size = Math.max(size, Long.parseLong(field(text, "currentSize")));
      lines = linesOf(text);
    }
    String firstLine = "";
    if (lines > 0) {
      session.getBasicRemote().sendText("{\"@\":\"RequestLines\",\"startingLineIndex\":0,\"linesCount\":1}");
      Object reply;
      while (!((reply = endpoint.next()) instanceof String t && "Lines".equals(field(t, "@")))) { }
      Matcher m = Pattern.compile("\"lines\"\\s*:\\s*\\[\"((?:[^\"\\\\]|\\\\.)*)\"").matcher((String) reply);
      firstLine = m.find() ? m.group(1) : "";
    }
    session.close();
    System.out.println("{\"state\":\"" + state + "\",\"size\":" + received + ",\"md5\":\"" + HexFormat.of().formatHex(md5.digest())
        + "\",\"lines\":" + lines + ",\"firstLine\":\"" + firstLine + "\"}");
  }
}
